package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/dht"
	"respaldo/node/api"
	"respaldo/node/roster"
	"respaldo/node/store"
)

// Memberships with an end (docs/roster.md, "admit"): an admit entry may
// carry an expiry, from which instant every node refuses the peer as it
// refuses a non-member (roster.Allowed), until an operator renews it with
// a new admit entry for the same peer and a later expiry (a renewal; the
// roster's rules allow it for a live or an expired member, never for a
// revoked one). respaldo invite --expires D makes the admit that consumes
// the invite carry "D after joining"; respaldo renew PEER --for D appends
// a renewal ending D from now.

// followExpiries is what the node does on every heartbeat tick: the peer
// table takes the roster's members as of now (an expired member leaves
// it), and every connected peer the roster no longer allows — a member
// whose expiry has passed — is disconnected. The gater refuses its new
// connections from the instant it expires, and RequireMember its streams.
func (n *Node) followExpiries() {
	n.table.SetMembers(n.meshMembers())
	for _, p := range n.host.Network().Peers() {
		_, st := n.roster.Member(roster.PeerID(p.String()), n.now())
		if st != roster.Expired && st != roster.Revoked {
			continue // members, and unknown peers: the join window's business
		}
		n.log.Info("closing the connections of a peer the roster no longer admits", "peer", p, "status", st)
		_ = dht.Expel(n.host, p)
	}
}

// termPrefix keys the store records of the membership terms of invites
// this node issued with --expires: termPrefix ‖ hex(token hash) → the
// term in nanoseconds, big-endian.
const termPrefix = "join/term/"

func termKey(h roster.TokenHash) []byte { return []byte(termPrefix + h.String()) }

// InviteMember is Invite for a node whose membership ends memberFor after
// it joins (0: never). The term is kept in this node's records under the
// invite's token, and the admit this node signs when the invite is used
// carries the expiry (memberExpiry). The invite must then be used through
// this node, as every invite is: the join window is this node's.
func (n *Node) InviteMember(ctx context.Context, op roster.OperatorKey, zone, role string, ttl, memberFor time.Duration) (Invite, error) {
	if memberFor < 0 {
		return Invite{}, fmt.Errorf("invite: a membership of %v", memberFor)
	}
	inv, err := n.Invite(ctx, op, zone, role, ttl)
	if err != nil || memberFor == 0 {
		return inv, err
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(memberFor))
	if err := n.store.Records().Put(ctx, termKey(inv.TokenHash()), b[:]); err != nil {
		// Without its term the invite would admit a member for good.
		_, werr := n.WithdrawInvite(context.WithoutCancel(ctx), op, inv.TokenHash())
		return Invite{}, errors.Join(fmt.Errorf("invite: keeping its membership term: %w", err), werr)
	}
	return inv, nil
}

// memberExpiry is the expiry of the admit that consumes token h now: the
// term its invite was issued with here, from now; zero when none.
func (n *Node) memberExpiry(h roster.TokenHash) time.Time {
	b, err := n.store.Records().Get(n.life, termKey(h))
	if err != nil || len(b) != 8 {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			n.log.Warn("join: reading the invite's membership term", "err", err)
		}
		return time.Time{}
	}
	return n.now().Add(time.Duration(binary.BigEndian.Uint64(b)))
}

// RenewPeer appends a renewal of p's membership signed by op: an admit
// entry with p's zone and role and the expiry now+d, persisted and spread.
// Renewal only extends: p must be a member whose membership ends (live or
// expired, not revoked), and now+d later than its current end. Errors
// wrap the api sentinels.
func (n *Node) RenewPeer(ctx context.Context, op roster.OperatorKey, p peer.ID, d time.Duration) (*roster.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d <= 0 {
		return nil, opErr(api.ErrBadRequest, "renew: --for must be a positive duration")
	}
	if err := n.checkOperator(ctx, "renew", op); err != nil {
		return nil, err
	}
	id := roster.PeerID(p.String())
	e, err := n.change(func(l *roster.Log) (*roster.Entry, error) {
		now := n.now()
		m, st := l.Member(id, now)
		until := now.Add(d).Truncate(time.Millisecond) // entry times are Unix ms
		switch {
		case st == roster.Unknown:
			return nil, opErr(api.ErrNotFound, "renew: no peer %s in this mesh's roster (see 'respaldo roster')", p)
		case st == roster.Revoked:
			return nil, opErr(api.ErrConflict, "renew: %s was revoked; a revoked peer ID is never admitted again", p)
		case m.Expiry.IsZero():
			return nil, opErr(api.ErrConflict, "renew: %s is a member with no end; there is nothing to renew", p)
		case !until.After(m.Expiry):
			return nil, opErr(api.ErrConflict, "renew: %s is a member until %s already, later than %s; renew only extends", p, m.Expiry.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
		}
		return l.Admit(op, roster.Admission{Peer: id, Zone: m.Zone, Role: m.Role, Expiry: until}, now)
	})
	if err != nil {
		return nil, rosterErr(err, api.ErrBadRequest)
	}
	n.log.Info("membership renewed", "peer", p, "until", e.Expiry, "seq", e.Seq)
	return e, nil
}

// renewAPI is the API's POST /v1/renew.
func (n *Node) renewAPI(ctx context.Context, req api.RenewRequest) (api.RenewResult, error) {
	p, err := parsePeer("renew", req.PeerID)
	if err != nil {
		return api.RenewResult{}, err
	}
	op, err := n.operatorKey(req.OperatorKey)
	if err != nil {
		return api.RenewResult{}, err
	}
	e, err := n.RenewPeer(ctx, op, p, time.Duration(req.For))
	if err != nil {
		return api.RenewResult{}, err
	}
	return api.RenewResult{Renewed: p.String(), Expires: e.Expiry}, nil
}
