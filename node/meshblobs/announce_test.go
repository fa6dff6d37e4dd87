package meshblobs

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"respaldo/erasure"
)

// countingProvider counts announcements per CID.
type countingProvider struct {
	mu   sync.Mutex
	n    map[cid.Cid]int
	fail bool
}

func (c *countingProvider) Provide(_ context.Context, k cid.Cid) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail {
		return errors.New("no DHT")
	}
	if c.n == nil {
		c.n = map[cid.Cid]int{}
	}
	c.n[k]++
	return nil
}

func (c *countingProvider) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := 0
	for _, v := range c.n {
		t += v
	}
	return t
}

func TestStripeCIDIsTheDescriptorCID(t *testing.T) {
	d, _, err := erasure.Encode([]byte("some blob"), erasure.DefaultParams, erasure.Secrets{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mh.Sum(d.Marshal(), mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	want := cid.NewCidV1(cid.Raw, m)
	if got := StripeCID(d.ID()); !got.Equals(want) {
		t.Fatalf("StripeCID = %s, want %s", got, want)
	}
}

// One announcement per stripe per slot for the whole mesh: of the k+m
// holders of each stripe, only the designated one announces, once, and
// the duty rotates from slot to slot.
func TestOneAnnouncementPerStripePerSlot(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	const stripes, total = 500, 6
	prov := &countingProvider{}
	holders := make([]*Announcer, total) // holder j holds shard j of every stripe
	held := make([][]HeldShard, total)
	for j := range holders {
		holders[j] = &Announcer{Provider: prov, Now: clock}
	}
	for s := range stripes {
		id := erasure.StripeID(sha256.Sum256([]byte{byte(s), byte(s >> 8)}))
		for j := range total {
			hs := HeldShard{Stripe: id, Index: j, Total: total}
			held[j] = append(held[j], hs)
			if _, err := holders[j].Stored(ctx, hs); err != nil { // the put
				t.Fatal(err)
			}
		}
	}
	if got := prov.total(); got != stripes {
		t.Fatalf("%d announcements on put, want one per stripe (%d)", got, stripes)
	}
	republish := func() int {
		n := 0
		for j, a := range holders {
			k, err := a.Republish(ctx, held[j])
			if err != nil {
				t.Fatal(err)
			}
			n += k
		}
		return n
	}
	if n := republish(); n != 0 {
		t.Fatalf("republish in the same slot announced %d", n)
	}
	// Over 10 days, republishing every hour: about one announcement per
	// stripe per 22 h, never two of a stripe within one slot.
	perHolder := make([]int64, total)
	for range 240 {
		now = now.Add(time.Hour)
		republish()
	}
	for j, a := range holders {
		perHolder[j] = a.Announced()
	}
	got := prov.total() - stripes
	want := stripes * 240 / 22
	if got < want-stripes || got > want+stripes {
		t.Errorf("%d announcements in 240 h, want about %d", got, want)
	}
	for j, n := range perHolder {
		if n < int64(got/total/2) {
			t.Errorf("holder %d announced %d times: the duty does not rotate", j, n)
		}
	}
	t.Logf("%d stripes: %d announcements in 240 h (%.2f per stripe per day); per holder %v", stripes, got, float64(got)/stripes/10, perHolder)
}

func TestFailedAnnouncementIsRetried(t *testing.T) {
	ctx := context.Background()
	prov := &countingProvider{fail: true}
	a := &Announcer{Provider: prov, PerSlot: 6}
	hs := HeldShard{Stripe: erasure.StripeID{9}, Index: 0, Total: 6}
	if ok, err := a.Stored(ctx, hs); ok || err == nil {
		t.Fatalf("Stored = %v, %v with a failing DHT", ok, err)
	}
	prov.fail = false
	if n, err := a.Republish(ctx, []HeldShard{hs}); n != 1 || err != nil {
		t.Fatalf("Republish = %d, %v", n, err)
	}
}
