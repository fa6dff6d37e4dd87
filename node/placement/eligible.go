package placement

import (
	"bytes"
	"cmp"
	"slices"

	"respaldo/erasure"
	"respaldo/node/mesh"
)

// cand is an eligible peer with what the walk needs.
type cand struct {
	id    mesh.PeerID
	zone  mesh.Zone
	room  int64 // shards that fit in its free space
	h     [32]byte
	score float64
}

// eligible returns the peers that may receive shards of stripe (live,
// storage, not self, room for a shard) in weighted rendezvous order:
// score descending, then hash descending, then ID; a total order on
// distinct IDs, so the input order does not matter.
func eligible(stripe erasure.StripeID, shardSize int64, self mesh.PeerID, peers []Candidate) []cand {
	var out []cand
	var free, avail []float64
	for _, c := range peers {
		if !c.Live || c.Role != mesh.RoleStorage || c.ID == self || c.ID == "" || c.FreeBytes < shardSize {
			continue
		}
		out = append(out, cand{id: c.ID, zone: c.Zone, room: c.FreeBytes / shardSize, h: rhash(stripe, c.ID)})
		free = append(free, float64(c.FreeBytes))
		avail = append(avail, c.Availability)
	}
	for i, w := range weights(free, avail) {
		out[i].score = score(w, out[i].h)
	}
	slices.SortFunc(out, func(a, b cand) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := bytes.Compare(b.h[:], a.h[:]); c != 0 {
			return c
		}
		return compareIDs(a.id, b.id)
	})
	return out
}
