package placement

import "respaldo/node/mesh"

// Candidate is one peer as placement sees it. The caller builds it from the
// mesh table (liveness, free space, availability) and the roster (zone,
// role); FromMesh does that from mesh.PeerState.
type Candidate struct {
	ID   mesh.PeerID
	Zone mesh.Zone // from the roster, never from the peer's own claim
	Role mesh.Role // from the roster; only mesh.RoleStorage holds shards
	Live bool
	// FreeBytes is the space the peer claims to offer. A peer without room
	// for one shard is skipped; weights come from it, capped.
	FreeBytes int64
	// Availability is the observed fraction of time the peer was up, in
	// [0, 1] (mesh.PeerState.Availability). Out-of-range values and NaN
	// are clamped to [MinAvailability, 1].
	Availability float64
}

// FromMesh converts the mesh table's view (mesh.Table.Peers) into
// candidates; a stranger has no role and is never eligible. The result is
// newly allocated.
func FromMesh(states []mesh.PeerState) []Candidate {
	out := make([]Candidate, len(states))
	for i, s := range states {
		out[i] = Candidate{
			ID: s.ID, Zone: s.Zone, Role: s.Role, Live: s.Live,
			FreeBytes: s.FreeBytes, Availability: s.Availability,
		}
		if !s.Member {
			out[i].Role, out[i].Live = "", false
		}
	}
	return out
}
