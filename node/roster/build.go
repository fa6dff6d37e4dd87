package roster

import "time"

// Admission is what an admit entry grants.
type Admission struct {
	Peer   PeerID
	Zone   Zone
	Role   Role
	Expiry time.Time // zero: never; else the peer must be renewed by then
	Token  TokenHash // the invite token consumed; zero for an operator's direct admit or a renewal
}

// Admit signs with op and appends an admit entry dated now, and returns it.
// Rules (besides Append's): a revoked peer is never admitted again
// (ErrRevoked); a token admits one peer once (ErrTokenUsed); if an invite
// entry recorded the token, zone and role must match it and the invite must
// not have expired at now; admitting a peer that is already a live member
// is a renewal: it must carry no token, and it replaces the peer's zone,
// role and expiry. An expired member may be renewed, or rejoin with a new
// token.
func (l *Log) Admit(op OperatorKey, a Admission, now time.Time) (*Entry, error) {
	return l.build(op, now, &Entry{
		Kind: KindAdmit, Peer: a.Peer, Zone: a.Zone, Role: a.Role, Expiry: a.Expiry, Token: a.Token,
	})
}

// Revoke signs with op and appends a revoke entry dated now, and returns
// it. The peer must have been admitted (ErrBadEntry) and not revoked yet
// (ErrRevoked). From then on the peer is refused for good, under this peer
// ID; its shards are rebuilt elsewhere. reason is free text (at most
// MaxReasonLen bytes, one line), e.g. "seized".
func (l *Log) Revoke(op OperatorKey, peer PeerID, reason string, now time.Time) (*Entry, error) {
	return l.build(op, now, &Entry{Kind: KindRevoke, Peer: peer, Reason: reason})
}

// Invite signs with op and appends an invite entry dated now, recording an
// issued invite so every node can check the admit that consumes it (zone,
// role, expiry) and see that an invite is open. Recording is optional: an
// admit may consume a token no invite entry names. The token must not have
// been recorded or consumed before (ErrTokenUsed).
func (l *Log) Invite(op OperatorKey, inv Invitation, now time.Time) (*Entry, error) {
	return l.build(op, now, &Entry{
		Kind: KindInvite, Token: inv.Token, Zone: inv.Zone, Role: inv.Role, Expiry: inv.Expiry,
	})
}

// WithdrawInvite signs with op and appends a withdraw-invite entry dated
// now: the invite whose token hashes to token is withdrawn before its
// expiry, so no admit may consume it from then on (ErrTokenWithdrawn), on
// any node. An invite entry must have recorded the token (ErrBadEntry); it
// must not have been consumed (ErrTokenUsed) nor withdrawn already
// (ErrTokenWithdrawn). Withdrawing an invite that has expired is allowed
// (validity never depends on a clock) but changes nothing.
func (l *Log) WithdrawInvite(op OperatorKey, token TokenHash, now time.Time) (*Entry, error) {
	return l.build(op, now, &Entry{Kind: KindWithdrawInvite, Token: token})
}

// AddOperator signs with op and appends an add-operator entry making pub an
// operator (at most MaxOperators at a time).
func (l *Log) AddOperator(op OperatorKey, pub OperatorPub, now time.Time) (*Entry, error) {
	return l.build(op, now, &Entry{Kind: KindAddOperator, Operator: pub})
}

// RemoveOperator signs with op and appends a remove-operator entry: pub can
// sign nothing from the next entry on. The last operator cannot be removed.
// Entries pub signed before stay valid. op may remove itself.
func (l *Log) RemoveOperator(op OperatorKey, pub OperatorPub, now time.Time) (*Entry, error) {
	return l.build(op, now, &Entry{Kind: KindRemoveOperator, Operator: pub})
}

// build completes e as the next entry, signs it with op and appends it.
func (l *Log) build(op OperatorKey, now time.Time, e *Entry) (*Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	head := l.s.recs[len(l.s.recs)-1]
	e.Version, e.Seq, e.Prev, e.Time = Version, head.e.Seq+1, head.hash, now
	if op.isZero() {
		return nil, wrapf(ErrNotOperator, e.Seq, "no operator key")
	}
	signInto(op, e)
	if err := l.s.append(e); err != nil {
		return nil, err
	}
	return l.s.recs[len(l.s.recs)-1].e.clone(), nil
}
