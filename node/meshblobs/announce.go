package meshblobs

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"respaldo/erasure"
)

// StripeCID is the DHT key under which a stripe's holders are announced:
// CIDv1, raw codec, with the stripe ID as its sha2-256 digest. As the stripe
// ID is the SHA-256 of the canonical descriptor, it is the CID of the
// descriptor's bytes, and never the CID of a shard.
func StripeCID(id erasure.StripeID) cid.Cid {
	m, err := mh.Encode(id[:], mh.SHA2_256)
	if err != nil {
		panic(err) // 32 bytes are a valid sha2-256 digest
	}
	return cid.NewCidV1(cid.Raw, m)
}

// Provider announces this node in the DHT as a provider of c (dht.DHT
// satisfies it).
type Provider interface {
	Provide(ctx context.Context, c cid.Cid) error
}

// DefaultAnnounceSlot is how often a stripe is announced: within the 48 h
// a provider record lives, with a slot to spare.
const DefaultAnnounceSlot = 22 * time.Hour

// Announcer runs on a storage node and keeps the provider records of the
// stripes it holds alive, one announcement per stripe per slot for the
// whole mesh: in each slot (22 h, offset per stripe so announcements spread
// evenly over time) only the holder of the stripe's designated shard
// (Designated) announces it, once. A provider record lives 48 h, so a
// designated holder that is down leaves the record of the slot before in
// place. The daemon calls Stored when its store takes a shard (a new stripe
// is announced at once, by one of its holders) and Republish every hour or
// so with the shards it holds. Safe for concurrent use; set the fields
// before the first call.
type Announcer struct {
	Provider Provider         // required
	Slot     time.Duration    // 0: DefaultAnnounceSlot
	PerSlot  int              // holders that announce a stripe per slot; 0: 1
	Now      func() time.Time // nil: time.Now

	mu    sync.Mutex
	done  map[erasure.StripeID]int64 // slot of the last announcement
	count atomic.Int64
}

// HeldShard is a shard a node holds, as Republish takes them.
type HeldShard struct {
	Stripe erasure.StripeID
	Index  int
	Total  int // k+m of the stripe
}

// Designated reports whether the holder of shard index (of total) announces
// stripe id in the given slot: perSlot consecutive indexes from one drawn
// by SHA-256 of the stripe and the slot, so the duty rotates among holders.
func Designated(id erasure.StripeID, index, total, perSlot int, slot int64) bool {
	if total <= 0 || index < 0 || index >= total {
		return false
	}
	var buf [32 + 8]byte
	copy(buf[:], id[:])
	binary.BigEndian.PutUint64(buf[32:], uint64(slot))
	h := sha256.Sum256(buf[:])
	first := int(binary.BigEndian.Uint64(h[:8]) % uint64(total))
	return (index-first+total)%total < perSlot
}

// SlotOf returns the announcement slot of stripe id at now: slots are
// slot long and shifted by a per-stripe phase.
func SlotOf(id erasure.StripeID, now time.Time, slot time.Duration) int64 {
	phase := int64(binary.BigEndian.Uint64(id[:8]) % uint64(slot))
	return (now.UnixNano() + phase) / int64(slot)
}

func (a *Announcer) params() (time.Duration, int, time.Time) {
	slot, per, now := a.Slot, a.PerSlot, time.Now()
	if slot <= 0 {
		slot = DefaultAnnounceSlot
	}
	if per <= 0 {
		per = 1
	}
	if a.Now != nil {
		now = a.Now()
	}
	return slot, per, now
}

// due reports whether s is this holder's to announce now, and marks it.
func (a *Announcer) due(s HeldShard) bool {
	slotLen, per, now := a.params()
	slot := SlotOf(s.Stripe, now, slotLen)
	if !Designated(s.Stripe, s.Index, s.Total, per, slot) {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done == nil {
		a.done = map[erasure.StripeID]int64{}
	}
	if last, ok := a.done[s.Stripe]; ok && last >= slot {
		return false
	}
	a.done[s.Stripe] = slot
	return true
}

// unmark forgets an announcement that failed, so the next call retries.
func (a *Announcer) unmark(id erasure.StripeID) {
	a.mu.Lock()
	delete(a.done, id)
	a.mu.Unlock()
}

// Stored announces the stripe of a shard the store just took, if this
// holder is its announcer in the current slot and has not announced it
// in it; it reports whether it announced.
func (a *Announcer) Stored(ctx context.Context, s HeldShard) (bool, error) {
	if !a.due(s) {
		return false, nil
	}
	if err := a.Provider.Provide(ctx, StripeCID(s.Stripe)); err != nil {
		a.unmark(s.Stripe)
		return false, fmt.Errorf("meshblobs: announce stripe %v: %w", s.Stripe, err)
	}
	a.count.Add(1)
	return true, nil
}

// Republish announces the stripes of held that are due (as Stored does)
// and returns how many it announced, with the errors of those that failed
// (they are tried again next time). It forgets stripes announced two slots
// ago or more, so its memory stays bounded by what is held.
func (a *Announcer) Republish(ctx context.Context, held []HeldShard) (int, error) {
	n := 0
	var errs []error
	for _, s := range held {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		ok, err := a.Stored(ctx, s)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			n++
		}
	}
	slotLen, _, now := a.params()
	a.mu.Lock()
	for id, last := range a.done {
		if last < SlotOf(id, now, slotLen)-1 {
			delete(a.done, id)
		}
	}
	a.mu.Unlock()
	return n, errors.Join(errs...)
}

// Announced returns how many announcements were made.
func (a *Announcer) Announced() int64 { return a.count.Load() }
