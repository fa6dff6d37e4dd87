package roster

import (
	"slices"
	"time"
)

// Member returns what the roster says of p at now. For Unknown the Member
// is zero; for the other statuses it holds the latest admit (and, when
// Revoked, the revocation's time and reason).
func (l *Log) Member(p PeerID, now time.Time) (Member, Status) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	m, ok := l.s.members[p]
	if !ok {
		return Member{}, Unknown
	}
	return m, m.status(now)
}

// Members returns the peers that are Admitted at now (not expired, not
// revoked), in a new map the caller owns.
func (l *Log) Members(now time.Time) map[PeerID]Member {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make(map[PeerID]Member, len(l.s.members))
	for p, m := range l.s.members {
		if m.status(now) == Admitted {
			out[p] = m
		}
	}
	return out
}

// Allowed is the admission decision the connection gater and every
// protocol handler make: p is Admitted at now. Revoked, expired and unknown
// peers are refused; which protocols an invite lets an unknown peer reach
// is the caller's business.
func (l *Log) Allowed(p PeerID, now time.Time) bool {
	_, st := l.Member(p, now)
	return st == Admitted
}

// RevocationsSince returns the revocations dated at or after t, oldest
// first (e.g. t = now-24h: the revoke command asks for --force when this
// would make more than m storage revocations in a day).
func (l *Log) RevocationsSince(t time.Time) []Revocation {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []Revocation
	for _, r := range l.s.revs {
		if !r.Time.Before(t) {
			out = append(out, r)
		}
	}
	return out
}

// OpenInvites returns the recorded invites that no admit consumed yet, that
// no withdraw-invite entry withdrew and that have not expired at now, oldest
// first. (Unrecorded invites are invisible to the roster.)
func (l *Log) OpenInvites(now time.Time) []Invitation {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []Invitation
	for _, r := range l.s.recs {
		if r.e.Kind != KindInvite {
			continue
		}
		if _, used := l.s.tokens[r.e.Token]; !used && !l.s.withdrawn[r.e.Token] && now.Before(r.e.Expiry) {
			out = append(out, l.s.invites[r.e.Token])
		}
	}
	return out
}

// TokenUsedBy returns the peer whose admit consumed token h, if any (so a
// join handler can answer a retried join idempotently).
func (l *Log) TokenUsedBy(h TokenHash) (PeerID, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	p, ok := l.s.tokens[h]
	return p, ok
}

// RecordedInvite returns the invite an invite entry recorded for token h,
// whatever became of it since (consumed, withdrawn or expired).
func (l *Log) RecordedInvite(h TokenHash) (Invitation, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	inv, ok := l.s.invites[h]
	return inv, ok
}

// Withdrawn reports whether a withdraw-invite entry withdrew token h.
func (l *Log) Withdrawn(h TokenHash) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.s.withdrawn[h]
}

// Operators returns the current operator keys, in order of addition.
func (l *Log) Operators() []OperatorPub {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Clone(l.s.ops)
}

// IsOperator reports whether pub may sign the next entry.
func (l *Log) IsOperator(pub OperatorPub) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Contains(l.s.ops, pub)
}

// EC returns the erasure geometry pinned by genesis, "k+m" (ParseEC reads
// it).
func (l *Log) EC() string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.s.genesisEC
}

// LatestTime returns the latest entry time in the log: the next entry must
// be dated no earlier than LatestTime() - MaxClockSkew (a builder's now, or
// an appended entry's Time). Callers use it to explain a refusal to a user
// whose clock is behind, or, after an entry dated in the future by a bad
// clock or a stolen key, to date entries at that time deliberately.
func (l *Log) LatestTime() time.Time {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.s.maxTime
}

// Created returns the time of the genesis entry.
func (l *Log) Created() time.Time {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.s.recs[0].e.Time
}

// View is an entry as `respaldo roster --json` shows it. The first seven
// keys are CLI.md's contract and always present (empty when the kind has
// none); the rest appear when set.
type View struct {
	Seq      uint64    `json:"seq"`
	Kind     Kind      `json:"kind"`
	PeerID   PeerID    `json:"peer_id"`
	Zone     Zone      `json:"zone"`
	Role     Role      `json:"role"`
	SignedBy string    `json:"signed_by"` // OperatorPub.Fingerprint
	Time     time.Time `json:"time"`

	Expiry   time.Time `json:"expiry,omitzero"`    // admit, invite
	Reason   string    `json:"reason,omitempty"`   // revoke
	Operator string    `json:"operator,omitempty"` // add/remove-operator: the key, in full
	EC       string    `json:"ec,omitempty"`       // genesis
	Hash     string    `json:"hash"`
}

// View returns e as `respaldo roster --json` shows it.
func (e *Entry) View() View {
	v := View{
		Seq: e.Seq, Kind: e.Kind, PeerID: e.Peer, Zone: e.Zone, Role: e.Role,
		SignedBy: e.Signer.Fingerprint(), Time: e.Time, Reason: e.Reason, EC: e.EC,
		Expiry: e.Expiry, Hash: e.Hash().String(),
	}
	if e.Operator != (OperatorPub{}) {
		v.Operator = e.Operator.String()
	}
	return v
}
