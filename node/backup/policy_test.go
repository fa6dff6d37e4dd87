package backup

import (
	"errors"
	"slices"
	"testing"
	"time"

	"respaldo/erasure"
)

func TestPolicy(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	var es []CatalogEntry
	// Two snapshots a day from Mon 2 to Sun 22 November (3 ISO weeks), one host.
	n := byte(0)
	for d := 2; d <= 22; d++ {
		for _, h := range []int{9, 18} {
			n++
			es = append(es, CatalogEntry{ID: erasure.StripeID{n}, Time: day(d, h), Host: "h", Paths: []string{"/a"}})
		}
	}
	other := CatalogEntry{ID: erasure.StripeID{200}, Time: day(1, 12), Host: "other", Paths: []string{"/a"}}
	es = append(es, other)
	ids := func(es []CatalogEntry) []byte {
		var out []byte
		for _, e := range es {
			out = append(out, e.ID[0])
		}
		return out
	}
	for _, c := range []struct {
		name string
		p    Policy
		keep []byte
	}{
		{"last 3", Policy{Last: 3}, []byte{200, 40, 41, 42}},
		{"daily 2", Policy{Daily: 2}, []byte{200, 40, 42}},
		{"weekly 2", Policy{Weekly: 2}, []byte{200, 28, 42}}, // Sun 15 18:00 and Sun 22 18:00
		{"last 1 + daily 2", Policy{Last: 1, Daily: 2}, []byte{200, 40, 42}},
		{"more than there are", Policy{Last: 100}, ids(es)},
	} {
		p := c.p
		p.Loc = time.UTC
		keep, forget, err := p.Apply(es)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := ids(keep)
		slices.Sort(got)
		want := slices.Clone(c.keep)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: keeps %v, want %v", c.name, got, want)
		}
		if len(keep)+len(forget) != len(es) {
			t.Errorf("%s: %d kept + %d forgotten of %d", c.name, len(keep), len(forget), len(es))
		}
	}
	if _, _, err := (Policy{}).Apply(es); !errors.Is(err, ErrKeepsNothing) {
		t.Fatalf("empty policy: %v", err)
	}
}

// A forgotten snapshot leaves the writer's and the reader's lists, stays
// forgotten when a catalog that still lists it is merged back in, and
// another device's catalog merged by union does not resurrect it.
func TestForget(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, Options{})
	dir := t.TempDir()
	mustWrite(t, dir+"/a", []byte("one"), 0o644)
	first := e.backup(t, dir)
	mustWrite(t, dir+"/a", []byte("two"), 0o644)
	second := e.backup(t, dir)
	old, err := e.r.Catalogs(ctx)
	if err != nil || len(old) != 2 {
		t.Fatalf("catalogs before: %v, %v", old, err)
	}
	h, err := e.w.Forget(ctx, []erasure.StripeID{first.SnapshotID})
	if err != nil || h.Seq != second.Head.Seq+1 {
		t.Fatalf("forget: head %+v, %v", h, err)
	}
	for name, list := range map[string]func() ([]CatalogEntry, error){
		"writer": func() ([]CatalogEntry, error) { return e.w.Snapshots(ctx) },
		"reader": func() ([]CatalogEntry, error) { return e.r.Snapshots(ctx) },
	} {
		es, err := list()
		if err != nil || len(es) != 1 || es[0].ID != second.SnapshotID {
			t.Fatalf("%s after forget: %+v, %v", name, es, err)
		}
	}
	if err := e.w.MergeCatalog(ctx, old); err != nil {
		t.Fatal(err)
	}
	if es, _ := e.w.Snapshots(ctx); len(es) != 1 {
		t.Fatalf("merging the old catalog brought a forgotten snapshot back: %+v", es)
	}
	if _, err := e.r.Find(ctx, first.SnapshotID.String()); !errors.Is(err, ErrSnapshotNotFound) {
		t.Fatalf("find a forgotten snapshot: %v", err)
	}
}
