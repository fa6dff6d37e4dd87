package roster

import (
	"crypto/sha256"
	"slices"
	"time"
)

func sha256Sum(b []byte) Hash { return sha256.Sum256(b) }

// Member is what the roster says of one peer.
type Member struct {
	Peer     PeerID
	Zone     Zone
	Role     Role
	Expiry   time.Time   // zero: never expires
	Admitted time.Time   // time of the latest admit (the first, or a renewal)
	Seq      uint64      // seq of the latest admit
	SignedBy OperatorPub // signer of the latest admit
	Revoked  time.Time   // zero unless revoked
	Reason   string      // why it was revoked
}

// status is m's Status at now (m known).
func (m Member) status(now time.Time) Status {
	switch {
	case !m.Revoked.IsZero():
		return Revoked
	case !m.Expiry.IsZero() && !now.Before(m.Expiry):
		return Expired
	}
	return Admitted
}

// Revocation is one revoke entry, with the peer's zone and role as they
// were when it was revoked.
type Revocation struct {
	Peer     PeerID
	Zone     Zone
	Role     Role
	Time     time.Time
	Reason   string
	Seq      uint64
	SignedBy OperatorPub
}

// Invitation is an invite as an invite entry records it.
type Invitation struct {
	Token  TokenHash // HashToken of the invite's token
	Zone   Zone      // the zone the new node will have
	Role   Role      // the role the new node will have
	Expiry time.Time // the token is refused from then on
}

// rules checks e (canonical, well-formed, signed by a current operator)
// against the state: the rules of its kind.
func (s *state) rules(e *Entry) error {
	switch e.Kind {
	case KindAdmit:
		m, known := s.members[e.Peer]
		if known && !m.Revoked.IsZero() {
			return wrapf(ErrRevoked, e.Seq, "%s was revoked at %s and cannot be admitted again", e.Peer, m.Revoked.Format(time.RFC3339))
		}
		if e.Token == (TokenHash{}) {
			return nil // an operator's direct admit, or a renewal
		}
		if p, used := s.tokens[e.Token]; used {
			return wrapf(ErrTokenUsed, e.Seq, "token %.16s… already admitted %s", e.Token, p)
		}
		if s.withdrawn[e.Token] {
			return wrapf(ErrTokenWithdrawn, e.Seq, "token %.16s… was withdrawn", e.Token)
		}
		if inv, ok := s.invites[e.Token]; ok {
			if inv.Zone != e.Zone || inv.Role != e.Role {
				return badf(e.Seq, "admit gives zone %q role %s, but its invite says zone %q role %s", e.Zone, e.Role, inv.Zone, inv.Role)
			}
			if !e.Time.Before(inv.Expiry) {
				return badf(e.Seq, "the invite expired at %s", inv.Expiry.Format(time.RFC3339))
			}
		}
		if known && m.status(e.Time) == Admitted {
			return badf(e.Seq, "%s is already a member: renew it without a token", e.Peer)
		}
	case KindRevoke:
		m, known := s.members[e.Peer]
		if !known {
			return badf(e.Seq, "%s was never admitted", e.Peer)
		}
		if !m.Revoked.IsZero() {
			return wrapf(ErrRevoked, e.Seq, "%s is already revoked", e.Peer)
		}
	case KindInvite:
		if _, used := s.tokens[e.Token]; used {
			return wrapf(ErrTokenUsed, e.Seq, "token %.16s… was already consumed", e.Token)
		}
		if _, dup := s.invites[e.Token]; dup {
			return wrapf(ErrTokenUsed, e.Seq, "token %.16s… was already recorded", e.Token)
		}
	case KindWithdrawInvite:
		if p, used := s.tokens[e.Token]; used {
			return wrapf(ErrTokenUsed, e.Seq, "token %.16s… already admitted %s", e.Token, p)
		}
		if s.withdrawn[e.Token] {
			return wrapf(ErrTokenWithdrawn, e.Seq, "token %.16s… is already withdrawn", e.Token)
		}
		if _, ok := s.invites[e.Token]; !ok {
			return badf(e.Seq, "no invite entry recorded token %.16s…", e.Token)
		}
	case KindAddOperator:
		if slices.Contains(s.ops, e.Operator) {
			return badf(e.Seq, "%s is already an operator", e.Operator.Fingerprint())
		}
		if len(s.ops) >= MaxOperators {
			return badf(e.Seq, "a mesh has at most %d operators", MaxOperators)
		}
	case KindRemoveOperator:
		if !slices.Contains(s.ops, e.Operator) {
			return badf(e.Seq, "%s is not an operator", e.Operator.Fingerprint())
		}
		if len(s.ops) == 1 {
			return badf(e.Seq, "cannot remove the last operator")
		}
	}
	return nil
}

// apply records e's effect; rules(e) has passed.
func (s *state) apply(e *Entry) {
	switch e.Kind {
	case KindAdmit:
		s.members[e.Peer] = Member{
			Peer: e.Peer, Zone: e.Zone, Role: e.Role, Expiry: e.Expiry,
			Admitted: e.Time, Seq: e.Seq, SignedBy: e.Signer,
		}
		if e.Token != (TokenHash{}) {
			s.tokens[e.Token] = e.Peer
		}
	case KindRevoke:
		m := s.members[e.Peer]
		m.Revoked, m.Reason = e.Time, e.Reason
		s.members[e.Peer] = m
		s.revs = append(s.revs, Revocation{
			Peer: e.Peer, Zone: m.Zone, Role: m.Role, Time: e.Time,
			Reason: e.Reason, Seq: e.Seq, SignedBy: e.Signer,
		})
	case KindInvite:
		s.invites[e.Token] = Invitation{Token: e.Token, Zone: e.Zone, Role: e.Role, Expiry: e.Expiry}
	case KindWithdrawInvite:
		s.withdrawn[e.Token] = true
	case KindAddOperator:
		s.ops = append(s.ops, e.Operator)
	case KindRemoveOperator:
		s.ops = slices.DeleteFunc(s.ops, func(o OperatorPub) bool { return o == e.Operator })
	}
}
