package mesh

import (
	"maps"
	"slices"
	"sync"
	"time"
)

// Table is the mesh's peer table: a state machine fed with heartbeats
// (Observe), other evidence of life (Seen) and the roster's members
// (SetMembers), read with Peers. It reads no clock: every call that needs
// the time takes now. Its methods are safe for concurrent use.
//
// A peer the table has heard of but which is not in the members map (a
// stranger: the roster has not reached us yet, or it was revoked) is kept
// apart, up to Config.MaxStrangers of them, and is never live; its zone and
// role are empty.
type Table struct {
	mu        sync.Mutex
	cfg       Config
	per       int64   // intervals per bucket
	priorN    float64 // the prior's weight, in intervals
	members   map[PeerID]Member
	peers     map[PeerID]*peerEntry
	strangers int // entries not in members
}

type peerEntry struct {
	lastSeen time.Time
	hist     history
	hb       *Heartbeat // last accepted heartbeat, or nil
	hbAt     time.Time  // when it was observed
}

// NewTable returns an empty table (no members) after validating cfg.
// Errors wrap ErrBadConfig.
func NewTable(cfg Config) (*Table, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bucket := cfg.Window / time.Duration(cfg.Buckets)
	return &Table{
		cfg:     cfg,
		per:     int64(bucket / cfg.Interval),
		priorN:  float64(cfg.PriorWeight) / float64(cfg.Interval),
		members: map[PeerID]Member{},
		peers:   map[PeerID]*peerEntry{},
	}, nil
}

// SetMembers replaces the members map with a copy of m (the roster's
// admitted peers, with their zone and role). State of peers outside m is
// dropped: a revoked peer's record goes, and so do all strangers'.
func (t *Table) SetMembers(m map[PeerID]Member) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.members = maps.Clone(m)
	if t.members == nil {
		t.members = map[PeerID]Member{}
	}
	maps.DeleteFunc(t.peers, func(id PeerID, _ *peerEntry) bool {
		_, ok := t.members[id]
		return !ok
	})
	t.strangers = 0
}

// Observe records a heartbeat received at now and reports whether it was
// accepted. The caller has checked that hb.Peer signed it. It is ignored
// (false) when invalid, when it is not newer (Seq) than the last one
// accepted from that peer (a replay or a duplicate), or when it comes from
// a stranger and the table keeps MaxStrangers of them already. An accepted
// heartbeat counts as evidence of life at now. hb is copied.
func (t *Table) Observe(hb *Heartbeat, now time.Time) bool {
	if hb == nil || hb.Validate() != nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.entry(hb.Peer, now)
	if p == nil || (p.hb != nil && hb.Seq <= p.hb.Seq) {
		return false
	}
	c := *hb
	p.hb, p.hbAt = &c, now
	t.seen(p, now)
	return true
}

// Seen records other evidence that peer was alive at now: a stream it
// opened, an answer it gave. Malformed IDs and strangers beyond
// MaxStrangers are ignored.
func (t *Table) Seen(peer PeerID, now time.Time) {
	if !validPeerID(peer) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.entry(peer, now); p != nil {
		t.seen(p, now)
	}
}

// entry returns peer's state, creating it (history starting at now) if
// there is room; nil for a stranger beyond MaxStrangers.
func (t *Table) entry(peer PeerID, now time.Time) *peerEntry {
	if p, ok := t.peers[peer]; ok {
		return p
	}
	if _, member := t.members[peer]; !member {
		if t.strangers >= t.cfg.MaxStrangers {
			return nil
		}
		t.strangers++
	}
	p := &peerEntry{hist: newHistory(interval(now, t.cfg.Interval), t.cfg.Buckets)}
	t.peers[peer] = p
	return p
}

func (t *Table) seen(p *peerEntry, now time.Time) {
	if now.After(p.lastSeen) {
		p.lastSeen = now
	}
	p.hist.mark(interval(now, t.cfg.Interval), t.per)
}

// Peers returns the state at now of every member and every stranger the
// table keeps, sorted by ID. The slice is newly allocated.
func (t *Table) Peers(now time.Time) []PeerState {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := slices.Collect(maps.Keys(t.members))
	for id := range t.peers {
		if _, ok := t.members[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]PeerState, len(ids))
	for i, id := range ids {
		out[i] = t.state(id, now)
	}
	return out
}

// Peer returns the state at now of one peer, and whether the table knows
// it (as a member or a stranger).
func (t *Table) Peer(id PeerID, now time.Time) (PeerState, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, member := t.members[id]
	_, known := t.peers[id]
	if !member && !known {
		return PeerState{}, false
	}
	return t.state(id, now), true
}
