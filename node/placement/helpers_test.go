package placement

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
)

var seedFlag = flag.Uint64("placement.seed", 0, "seed for the property tests (0: from the clock)")

// testSeed returns the property tests' seed and logs it, so a failure can
// be replayed with -placement.seed.
func testSeed(t *testing.T) uint64 {
	s := *seedFlag
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -placement.seed=%d)", s, s)
	return s
}

const (
	shard = 1 << 20 // 1 MiB shards
	TB    = 1 << 40
	PB    = 1 << 50
)

var p42 = erasure.Params{K: 4, M: 2}

func stripeN(i int) erasure.StripeID {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return erasure.StripeID(sha256.Sum256(b[:]))
}

// store is a live storage candidate with 1 TB free and full availability.
func store(id mesh.PeerID, zone mesh.Zone) Candidate {
	return Candidate{ID: id, Zone: zone, Role: mesh.RoleStorage, Live: true, FreeBytes: TB, Availability: 1}
}

// stores makes n storage peers p00.. spread round-robin over zones z0..
func stores(n, zones int) []Candidate {
	out := make([]Candidate, n)
	for i := range out {
		out[i] = store(mesh.PeerID(fmt.Sprintf("p%02d", i)), mesh.Zone(fmt.Sprintf("z%d", i%zones)))
	}
	return out
}

func with(cs []Candidate, edit func(*Candidate)) []Candidate {
	out := slices.Clone(cs)
	for i := range out {
		edit(&out[i])
	}
	return out
}

func counts(p Plan) map[mesh.PeerID]int {
	c := map[mesh.PeerID]int{}
	for _, h := range p.Holders {
		c[h]++
	}
	return c
}

func zoneCounts(p Plan, peers []Candidate) map[mesh.Zone]int {
	zoneOf := map[mesh.PeerID]mesh.Zone{}
	for _, c := range peers {
		zoneOf[c.ID] = c.Zone
	}
	out := map[mesh.Zone]int{}
	for _, h := range p.Holders {
		out[zoneOf[h]]++
	}
	return out
}

func maxOf[K comparable](m map[K]int) int {
	best := 0
	for _, v := range m {
		best = max(best, v)
	}
	return best
}

func sortedDesc(m map[mesh.PeerID]int) []int {
	var out []int
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

func equalPlans(a, b Plan) bool {
	return a.Underplaced == b.Underplaced && a.ToleratesLosses == b.ToleratesLosses &&
		a.ZoneSafe == b.ZoneSafe && slices.Equal(a.Holders, b.Holders)
}
