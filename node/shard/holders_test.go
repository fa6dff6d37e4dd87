package shard

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"respaldo/node/store"
)

// A put that carries the writer's placement leaves the holder a holder map
// of the stripe; the owner's delete takes it away; a placement of the
// wrong length is refused before anything is stored.
func TestHolderMap(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 50_000)
	e := memEnv(t)
	id := f.d.ID()
	plan := make([]string, len(f.d.Shards))
	for i := range plan {
		plan[i] = "peer-" + string(rune('a'+i))
	}
	cerr, serr := e.run(ownerID, func(s Stream) error { return PutPlaced(ctx, s, f.d, 2, f.shards[2], plan) })
	if cerr != nil || serr != nil {
		t.Fatalf("put: %v / %v", cerr, serr)
	}
	got, err := HolderMap(ctx, e.st.Records(), id)
	if err != nil || !slices.Equal(got, plan) {
		t.Fatalf("holder map %v, %v; want %v", got, err, plan)
	}
	cerr, _ = e.run(ownerID, func(s Stream) error { return PutPlaced(ctx, s, f.d, 3, f.shards[3], plan[:2]) })
	wantErr(t, "short placement", cerr, ErrBadRequest)
	if e.has(f, 3) {
		t.Fatal("a put with a bad placement stored its shard")
	}
	cerr, _ = e.run(ownerID, func(s Stream) error {
		return Delete(ctx, s, ownerID, holderID, f.d, 2, f.del, time.Now())
	})
	if cerr != nil {
		t.Fatal(cerr)
	}
	if _, err := HolderMap(ctx, e.st.Records(), id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("holder map after delete: %v", err)
	}
}
