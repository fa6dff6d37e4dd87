package repair

import (
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"slices"
	"testing"
	"time"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/placement"
)

var seedFlag = flag.Uint64("repair.seed", 0, "seed for the property tests (0: from the clock)")

// testSeed returns the property tests' seed and logs it, so a failure can
// be replayed with -repair.seed.
func testSeed(t *testing.T) uint64 {
	s := *seedFlag
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -repair.seed=%d)", s, s)
	return s
}

const (
	shardSize = 1 << 20 // 1 MiB shards
	TB        = 1 << 40
)

var (
	p42 = erasure.Params{K: 4, M: 2}
	t0  = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func stripeN(i int) erasure.StripeID {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return erasure.StripeID(sha256.Sum256(b[:]))
}

// store is a live storage candidate with 1 TB free and full availability.
func store(id mesh.PeerID, zone mesh.Zone) placement.Candidate {
	return placement.Candidate{ID: id, Zone: zone, Role: mesh.RoleStorage, Live: true, FreeBytes: TB, Availability: 1}
}

// stores makes n storage peers p00.. spread round-robin over zones z0..
func stores(n, zones int) []placement.Candidate {
	out := make([]placement.Candidate, n)
	for i := range out {
		out[i] = store(mesh.PeerID(fmt.Sprintf("p%02d", i)), mesh.Zone(fmt.Sprintf("z%d", i%zones)))
	}
	return out
}

// world is a mesh and one stripe placed on it, all seen at t0.
type world struct {
	t     *testing.T
	in    Input
	peers map[mesh.PeerID]*placement.Candidate
}

// newWorld places stripe s (4+2) on peers with placement.Place and makes
// the input as every holder, live, would see it at t0.
func newWorld(t *testing.T, s int, peers []placement.Candidate) *world {
	t.Helper()
	return newWorldP(t, s, p42, peers)
}

// newWorldP is newWorld with k+m = p.
func newWorldP(t *testing.T, s int, p erasure.Params, peers []placement.Candidate) *world {
	t.Helper()
	st := Stripe{ID: stripeN(s), Params: p, ShardSize: shardSize}
	plan, err := placement.Place(st.ID, st.Params, st.ShardSize, "", peers)
	if err != nil {
		t.Fatal(err)
	}
	return worldOn(t, st, peers, plan.Holders)
}

// worldOn is a world where holders[i] holds shard i ("" for nobody).
func worldOn(t *testing.T, st Stripe, peers []placement.Candidate, holders []mesh.PeerID) *world {
	w := &world{t: t, peers: map[mesh.PeerID]*placement.Candidate{}}
	w.in = Input{Stripe: st, Peers: slices.Clone(peers), Now: t0, Shards: make([][]Copy, len(holders))}
	for i := range w.in.Peers {
		w.peers[w.in.Peers[i].ID] = &w.in.Peers[i]
	}
	for i, h := range holders {
		if h != "" {
			w.in.Shards[i] = []Copy{w.copyOf(h)}
		}
	}
	if len(holders) > 0 {
		w.in.Self = holders[0]
	}
	return w
}

// copyOf is a copy on peer id in the state the peer table gives it.
func (w *world) copyOf(id mesh.PeerID) Copy {
	c := Copy{Peer: id, Live: true, LastSeen: w.in.Now}
	if p := w.peers[id]; p != nil && !p.Live {
		c.Live = false
	}
	return c
}

// holder returns the peer holding shard i (its first copy).
func (w *world) holder(i int) mesh.PeerID { return w.in.Shards[i][0].Peer }

// gone makes peer id unseen since `ago` before now, in the table and in
// every copy it holds.
func (w *world) gone(id mesh.PeerID, ago time.Duration) {
	if p := w.peers[id]; p != nil {
		p.Live = false
	}
	w.edit(id, func(c *Copy) { c.Live, c.LastSeen = false, w.in.Now.Add(-ago) })
}

// edit changes every copy held by peer id.
func (w *world) edit(id mesh.PeerID, f func(*Copy)) {
	for i := range w.in.Shards {
		for j := range w.in.Shards[i] {
			if w.in.Shards[i][j].Peer == id {
				f(&w.in.Shards[i][j])
			}
		}
	}
}

// add records that peer id holds shard i too.
func (w *world) add(i int, id mesh.PeerID) { w.in.Shards[i] = append(w.in.Shards[i], w.copyOf(id)) }

// plan runs PlanStripe on a copy of the input and fails the test on error.
func (w *world) plan() Plan {
	w.t.Helper()
	p, err := PlanStripe(w.in)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// apply carries out p's puts in the world (the new holders hold their
// shards) and returns the world for the next round.
func (w *world) apply(p Plan) {
	for _, put := range p.Put {
		w.add(put.Index, put.To)
	}
	for _, d := range p.Drop {
		w.in.Shards[d.Index] = slices.DeleteFunc(w.in.Shards[d.Index], func(c Copy) bool { return c.Peer == d.Peer })
	}
}

func statusesOf(p Plan, want ShardStatus) []int {
	var out []int
	for i, s := range p.Shards {
		if s == want {
			out = append(out, i)
		}
	}
	return out
}

func putIndexes(p Plan) []int {
	var out []int
	for _, x := range p.Put {
		out = append(out, x.Index)
	}
	return out
}

func perPeer(holders []mesh.PeerID) map[mesh.PeerID]int {
	c := map[mesh.PeerID]int{}
	for _, h := range holders {
		if h != "" {
			c[h]++
		}
	}
	return c
}

func with(cs []placement.Candidate, edit func(*placement.Candidate)) []placement.Candidate {
	out := slices.Clone(cs)
	for i := range out {
		edit(&out[i])
	}
	return out
}
