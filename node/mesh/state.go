package mesh

import "time"

// PeerState is what the table knows of one peer at a given now.
type PeerState struct {
	ID PeerID
	// Member: the peer is in the members map (the roster). Zone and Role
	// come from there and are empty for a stranger.
	Member bool
	Zone   Zone
	Role   Role
	// Live: a member seen within Config.LiveWindow of now. A stranger is
	// never live.
	Live bool
	// LastSeen is the latest evidence of life (heartbeat or Seen); zero if
	// none since the table was made.
	LastSeen time.Time
	// Availability is the observed fraction of intervals of the window in
	// which the peer was seen, blended with the prior (Config.Prior); a
	// peer never heard of has exactly the prior. In [0, 1].
	Availability float64

	// From the last accepted heartbeat, all zero if none: when it arrived
	// (the table's now), its sequence number and the peer's claims.
	HeartbeatAt          time.Time
	Seq                  uint64
	ClaimedZone          Zone // informational only; Zone is the one that counts
	FreeBytes, UsedBytes int64
	Shards               int64
	Software             string
	Uptime               time.Duration
}

// LiveStorage reports whether the peer may be given shards now: live, and
// a storage node in the roster.
func (s PeerState) LiveStorage() bool { return s.Live && s.Role == RoleStorage }

// state builds id's PeerState; t.mu is held.
func (t *Table) state(id PeerID, now time.Time) PeerState {
	m, member := t.members[id]
	s := PeerState{ID: id, Member: member, Zone: m.Zone, Role: m.Role, Availability: t.cfg.Prior}
	p, ok := t.peers[id]
	if !ok {
		return s
	}
	s.LastSeen = p.lastSeen
	s.Live = member && now.Sub(p.lastSeen) <= t.cfg.LiveWindow
	s.Availability = p.hist.availability(interval(now, t.cfg.Interval), t.per, t.cfg.Prior, t.priorN)
	if hb := p.hb; hb != nil {
		s.HeartbeatAt, s.Seq = p.hbAt, hb.Seq
		s.ClaimedZone = hb.Zone
		s.FreeBytes, s.UsedBytes, s.Shards = hb.FreeBytes, hb.UsedBytes, hb.Shards
		s.Software, s.Uptime = hb.Software, hb.Uptime
	}
	return s
}
