package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"respaldo/node/api"
	"respaldo/node/roster"
)

// APIBackend serves the local API from this node. Operations that arrive
// with later pieces (backup through the mesh, restore, check, forget,
// invite, revoke, drain) answer "not implemented" until then.
func (n *Node) APIBackend() api.Backend { return &backend{n: n} }

type backend struct {
	api.UnimplementedBackend
	n *Node
}

func (b *backend) Status(ctx context.Context) (api.Status, error) {
	s, err := b.n.Status(ctx)
	if err != nil {
		return api.Status{}, err
	}
	return api.Status{
		PeerID: s.PeerID, Zone: s.Zone, Version: s.Version,
		PeersTotal: s.PeersTotal, PeersOnline: s.PeersOnline,
		Shards: int64(s.Shards), UsedBytes: s.UsedBytes, FreeBytes: s.FreeBytes,
		Stripes: api.StripeCounts{Healthy: int64(s.Stripes.Healthy), Degraded: int64(s.Stripes.Degraded),
			AtRisk: int64(s.Stripes.AtRisk), Lost: int64(s.Stripes.Lost)},
		RepairQueue: s.RepairQueue, ToleratesLosses: s.ToleratesLosses,
	}, nil
}

func (b *backend) Peers(ctx context.Context) ([]api.Peer, error) {
	ps := b.n.Peers()
	out := make([]api.Peer, 0, len(ps))
	for _, p := range ps {
		addrs := p.Addrs
		if addrs == nil {
			addrs = []string{}
		}
		out = append(out, api.Peer{
			ID: string(p.ID), Zone: string(p.Zone), Role: string(p.Role), Addrs: addrs,
			Connected: p.Connected, LastSeen: p.LastSeen, LatencyMS: float64(p.Latency.Microseconds()) / 1000,
			Availability: p.Availability, FreeBytes: p.FreeBytes, UsedBytes: p.UsedBytes,
			Shards: int64(p.Shards), Version: p.Software,
		})
	}
	return out, nil
}

func (b *backend) Roster(ctx context.Context) ([]api.RosterEntry, error) {
	es := b.n.Roster().Entries()
	out := make([]api.RosterEntry, 0, len(es))
	for _, e := range es {
		v := e.View()
		out = append(out, api.RosterEntry{
			Seq: v.Seq, Kind: string(v.Kind), PeerID: string(v.PeerID), Zone: string(v.Zone),
			Role: string(v.Role), SignedBy: v.SignedBy, Time: v.Time,
		})
		if v.Kind == roster.KindAdmit {
			out[len(out)-1].Expiry = v.Expiry
		}
		if v.Kind == roster.KindAddOperator || v.Kind == roster.KindRemoveOperator {
			out[len(out)-1].Operator = e.Operator.Fingerprint()
		}
	}
	return out, nil
}

// Invite issues an invite signed with the operator key given in the request
// (--operator-key F) or, failing that, the node's own DIR/operator.key.
func (b *backend) Invite(ctx context.Context, req api.InviteRequest) (api.Invite, error) {
	var op roster.OperatorKey
	var err error
	if !req.OperatorKey.IsZero() {
		op, err = ParseOperatorKey(req.OperatorKey.Reveal())
	} else {
		op, err = LoadOperatorKey(b.n.dir)
		if errors.Is(err, fs.ErrNotExist) {
			return api.Invite{}, fmt.Errorf("%w: this node holds no operator key; pass --operator-key FILE", api.ErrNeedsOperatorKey)
		}
	}
	if err != nil {
		return api.Invite{}, fmt.Errorf("%w: %v", api.ErrBadRequest, err)
	}
	zone, role := req.Zone, req.Role
	if zone == "" { // default: the inviting node's own zone
		m, _ := b.n.Roster().Member(roster.PeerID(b.n.ID().String()), b.n.now())
		zone = string(m.Zone)
	}
	if role == "" {
		role = string(roster.RoleStorage)
	}
	inv, err := b.n.InviteMember(ctx, op, zone, role, time.Duration(req.TTL), time.Duration(req.MemberFor))
	if err != nil {
		return api.Invite{}, err
	}
	addrs := make([]string, 0, len(inv.Addrs))
	for _, a := range inv.Addrs {
		addrs = append(addrs, a.String())
	}
	return api.Invite{
		Invite: inv.String(), MeshID: roster.Hash(inv.Mesh).String(), Zone: string(inv.Zone),
		Role: string(inv.Role), Expires: inv.Expiry, Addrs: addrs,
	}, nil
}

// Revoke revokes a peer (revoke.go): POST /v1/revoke.
func (b *backend) Revoke(ctx context.Context, req api.RevokeRequest) (api.RevokeResult, error) {
	return b.n.revokeAPI(ctx, req)
}

// Renew extends a peer's membership (expiry.go): POST /v1/renew.
func (b *backend) Renew(ctx context.Context, req api.RenewRequest) (api.RenewResult, error) {
	return b.n.renewAPI(ctx, req)
}

// OperatorAdd makes a new key an operator (operators.go): POST /v1/operator-add.
func (b *backend) OperatorAdd(ctx context.Context, req api.OperatorAddRequest) (api.OperatorResult, error) {
	return b.n.operatorAddAPI(ctx, req)
}

// OperatorRemove removes an operator key (operators.go): POST /v1/operator-remove.
func (b *backend) OperatorRemove(ctx context.Context, req api.OperatorRemoveRequest) (api.OperatorResult, error) {
	return b.n.operatorRemoveAPI(ctx, req)
}

// Drain moves this node's shards to other peers (drain.go): POST /v1/drain.
func (b *backend) Drain(ctx context.Context) (api.DrainResult, error) {
	return b.n.drainAPI(ctx)
}
