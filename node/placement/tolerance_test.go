package placement

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"respaldo/node/mesh"
)

func TestToleratesLossesTable(t *testing.T) {
	for _, c := range []struct {
		holders []mesh.PeerID
		k, want int
	}{
		{[]mesh.PeerID{"a", "b", "c", "d", "e", "f"}, 4, 2},
		{[]mesh.PeerID{"a", "a", "b", "b", "c", "c"}, 4, 1},
		{[]mesh.PeerID{"a", "a", "b", "b", "c", "d"}, 4, 1},
		{[]mesh.PeerID{"a", "a", "a", "b", "b", "b"}, 4, 0},
		{[]mesh.PeerID{"a", "a", "a", "a", "a", "a"}, 4, 0},
		{[]mesh.PeerID{"a", "b", "c", "d", "", ""}, 4, 0},
		{[]mesh.PeerID{"a", "b", "c", "", "", ""}, 4, -1},
		{[]mesh.PeerID{"a", "b", "c", "d", "e", ""}, 4, 1},
		{nil, 1, -1},
	} {
		if got := ToleratesLosses(c.holders, c.k); got != c.want {
			t.Errorf("%v k=%d: %d, want %d", c.holders, c.k, got, c.want)
		}
	}
	zoneOf := map[mesh.PeerID]mesh.Zone{"a": "x", "b": "x", "c": "y", "d": "y", "e": "z", "f": "z"}
	for _, c := range []struct {
		holders []mesh.PeerID
		want    int
	}{
		{[]mesh.PeerID{"a", "c", "e", "b", "d", "f"}, 1},
		{[]mesh.PeerID{"a", "b", "c", "d", "e", "g"}, 1}, // g: zone "" with nobody else
		{[]mesh.PeerID{"a", "b", "a", "c", "e", "f"}, 0},
	} {
		if got := ZoneTolerance(c.holders, 4, zoneOf); got != c.want {
			t.Errorf("zones of %v: %d, want %d", c.holders, got, c.want)
		}
	}
}

// TestToleratesLossesAgainstBruteForce compares ToleratesLosses with the
// definition: the largest L such that every set of L holders, when lost,
// leaves at least k shards (-1 if fewer than k now).
func TestToleratesLossesAgainstBruteForce(t *testing.T) {
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 1))
	for trial := range 2000 {
		n := 1 + r.IntN(10)
		peers := 1 + r.IntN(6)
		holders := make([]mesh.PeerID, n)
		for i := range holders {
			if r.IntN(8) > 0 {
				holders[i] = mesh.PeerID(fmt.Sprint(r.IntN(peers)))
			}
		}
		k := 1 + r.IntN(n)
		if got, want := ToleratesLosses(holders, k), bruteTolerance(holders, k); got != want {
			t.Fatalf("seed %d trial %d: %v k=%d: %d, want %d", seed, trial, holders, k, got, want)
		}
	}
}

func bruteTolerance(holders []mesh.PeerID, k int) int {
	var ids []mesh.PeerID
	seen := map[mesh.PeerID]bool{}
	present := 0
	for _, h := range holders {
		if h != "" {
			present++
			if !seen[h] {
				seen[h] = true
				ids = append(ids, h)
			}
		}
	}
	if present < k {
		return -1
	}
	best := 0
	for L := 1; L <= len(ids); L++ {
		for mask := 0; mask < 1<<len(ids); mask++ {
			if popcount(mask) != L {
				continue
			}
			left := 0
			for _, h := range holders {
				if h == "" {
					continue
				}
				i := 0
				for ids[i] != h {
					i++
				}
				if mask&(1<<i) == 0 {
					left++
				}
			}
			if left < k {
				return best
			}
		}
		best = L
	}
	return best
}

func popcount(x int) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}
