package placement

import (
	"fmt"

	"respaldo/node/mesh"
)

// state is a plan being filled: holders so far and the counts the limits
// look at.
type state struct {
	n       int
	holders []mesh.PeerID
	zoneOf  map[mesh.PeerID]mesh.Zone
	count   map[mesh.PeerID]int // shards per peer, pinned included
	perZone map[mesh.Zone]int
	missing int
	next    int // lowest index that may be free
}

func newState(n int, zoneOf map[mesh.PeerID]mesh.Zone, pinned []mesh.PeerID) *state {
	s := &state{
		n: n, holders: make([]mesh.PeerID, n), zoneOf: zoneOf,
		count: map[mesh.PeerID]int{}, perZone: map[mesh.Zone]int{},
	}
	copy(s.holders, pinned)
	for _, h := range s.holders {
		if h == "" {
			s.missing++
			continue
		}
		s.count[h]++
		s.perZone[zoneOf[h]]++
	}
	return s
}

// limits are the bounds a fill works within.
type limits struct {
	perPeer int                 // ⌈n/N⌉, N = eligible and pinned peers
	zoneCap int                 // max(m, the smallest per-zone maximum that fits)
	peer    map[mesh.PeerID]int // the most shards each peer may end with
}

// limits computes the bounds for filling s from elig; ErrNoSpace when
// the peers cannot take all n shards at ⌈n/N⌉ per peer.
func (s *state) limits(elig []cand, m int) (limits, error) {
	// A pinned peer keeps what it has; an eligible one may grow to ⌈n/N⌉
	// as far as its room allows.
	l := limits{peer: map[mesh.PeerID]int{}}
	for h, k := range s.count {
		l.peer[h] = k
	}
	peers := len(l.peer)
	for _, c := range elig {
		if _, pinned := l.peer[c.id]; !pinned {
			peers++
		}
	}
	l.perPeer = (s.n + peers - 1) / peers
	for _, c := range elig {
		k := s.count[c.id]
		l.peer[c.id] = max(k, min(l.perPeer, k+int(min(c.room, int64(s.n)))))
	}
	capacity, total := map[mesh.Zone]int{}, 0
	for h, k := range l.peer {
		capacity[s.zoneOf[h]] += k
		total += k
	}
	if total < s.n {
		return l, fmt.Errorf("%w: %d live storage peers take %d of %d shards at most %d per peer", ErrNoSpace, peers, total, s.n, l.perPeer)
	}
	l.zoneCap = max(m, s.tightestZoneCap(capacity))
	return l, nil
}

// place fills the missing shards from elig (in rendezvous order), within
// the limits, round by round so that counts stay as even as they allow.
func (s *state) place(elig []cand, m int) error {
	l, err := s.limits(elig, m)
	if err != nil {
		return err
	}
	for round := 1; round <= l.perPeer && s.missing > 0; round++ {
		for _, c := range elig {
			if s.missing == 0 {
				break
			}
			if k := s.count[c.id]; k >= round || k >= l.peer[c.id] || s.perZone[c.zone] >= l.zoneCap {
				continue
			}
			s.assign(c)
		}
	}
	if s.missing > 0 { // cannot happen: the limits were checked above
		return fmt.Errorf("%w: %d shards left unplaced", ErrNoSpace, s.missing)
	}
	return nil
}

// tightestZoneCap is the smallest per-zone maximum t with which all n
// shards fit: Σ over zones of min(t, capacity) >= n. Pinned shards count
// in the capacity like any other, so Fill around the shards of a plan
// uses the limit Place would use on the same peers; a zone pinned above t
// keeps its shards and takes no more.
func (s *state) tightestZoneCap(capacity map[mesh.Zone]int) int {
	for t := 1; ; t++ {
		fit := 0
		for _, c := range capacity {
			fit += min(t, c)
		}
		if fit >= s.n || t >= s.n {
			return t
		}
	}
}

func (s *state) assign(c cand) {
	for s.holders[s.next] != "" {
		s.next++
	}
	s.holders[s.next] = c.id
	s.count[c.id]++
	s.perZone[c.zone]++
	s.missing--
}
