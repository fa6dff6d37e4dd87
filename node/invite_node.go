package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"respaldo/dht"
	"respaldo/node/roster"
)

const (
	// DefaultInviteTTL is an invite's lifetime when Invite is given none.
	DefaultInviteTTL = time.Hour
	// MaxInviteTTL bounds an invite's lifetime (and so the join window).
	MaxInviteTTL = 7 * 24 * time.Hour
)

// joinState is the node's open invites: the operator key each was issued
// with (so the join handler can sign the admit; the key may not be in
// DIR/operator.key) and its expiry, which drives the join window.
type joinState struct {
	mu      sync.Mutex
	pending map[roster.TokenHash]pendingInvite
}

type pendingInvite struct {
	op     roster.OperatorKey
	expiry time.Time
}

// Gater returns the node's connection gater (the join window lives there).
func (n *Node) Gater() *dht.AllowList { return n.gater }

// Invite issues an invite to this node's mesh for a new node of zone
// ("default" if empty) and role ("storage" if empty), valid for ttl
// (DefaultInviteTTL if 0; at most MaxInviteTTL; rounded up to the second).
// op must be an operator key of the mesh: it signs the roster's invite
// entry (token hash, zone, role, expiry), which is persisted and spread
// before Invite returns, and later the admit that consumes the token. The
// node then opens its join window until the invite expires or is used.
// The invite carries at most MaxInviteAddrs of the host's addresses,
// public ones first, then LAN, then loopback.
func (n *Node) Invite(ctx context.Context, op roster.OperatorKey, zone, role string, ttl time.Duration) (Invite, error) {
	if zone == "" {
		zone = "default"
	}
	if role == "" {
		role = string(roster.RoleStorage)
	}
	switch {
	case ttl == 0:
		ttl = DefaultInviteTTL
	case ttl < 0 || ttl > MaxInviteTTL:
		return Invite{}, fmt.Errorf("invite: lifetime %v is not within (0, %v]", ttl, MaxInviteTTL)
	}
	if err := ctx.Err(); err != nil {
		return Invite{}, err
	}
	if !n.roster.IsOperator(op.Public()) {
		return Invite{}, fmt.Errorf("invite: %w", roster.ErrNotOperator)
	}
	now := n.now()
	expiry := now.Add(ttl).Add(time.Second - 1).Truncate(time.Second)
	addrs := inviteAddrs(n.host.Addrs())
	if len(addrs) == 0 {
		return Invite{}, errNoAddrs
	}
	inv, err := NewInvite(rand.Reader, n.roster.MeshID(), peer.AddrInfo{ID: n.self, Addrs: addrs},
		roster.Zone(zone), roster.Role(role), expiry)
	if err != nil {
		return Invite{}, err
	}
	h := inv.TokenHash()
	_, err = n.change(func(l *roster.Log) (*roster.Entry, error) {
		return l.Invite(op, roster.Invitation{Token: h, Zone: inv.Zone, Role: inv.Role, Expiry: inv.Expiry}, now)
	})
	if err != nil {
		return Invite{}, fmt.Errorf("invite: %w", err)
	}
	n.joins.mu.Lock()
	if n.joins.pending == nil {
		n.joins.pending = map[roster.TokenHash]pendingInvite{}
	}
	n.joins.pending[h] = pendingInvite{op: op, expiry: inv.Expiry}
	n.joins.mu.Unlock()
	n.updateJoinWindow()
	time.AfterFunc(inv.Expiry.Sub(n.now())+10*time.Millisecond, n.updateJoinWindow)
	n.log.Info("invite issued", "zone", zone, "role", role, "expiry", inv.Expiry, "token", h)
	return inv, nil
}

// updateJoinWindow forgets the invites that expired or were used, sets the
// join window to the latest remaining expiry (or closes it) and, when it
// closes, drops the guests that did not become members.
func (n *Node) updateJoinWindow() {
	if n.life.Err() != nil {
		return
	}
	now := n.now()
	n.joins.mu.Lock()
	var until time.Time
	for h, p := range n.joins.pending {
		if _, used := n.roster.TokenUsedBy(h); used || !now.Before(p.expiry) {
			delete(n.joins.pending, h)
			continue
		}
		if p.expiry.After(until) {
			until = p.expiry
		}
	}
	n.gater.CloseJoinWindow()
	if !until.IsZero() {
		n.gater.OpenJoinWindow(until.Sub(now))
	}
	n.joins.mu.Unlock()
	if until.IsZero() {
		if k := dht.Sweep(n.host, n.allowed); k > 0 {
			n.log.Info("join window closed: dropped guests", "peers", k)
		}
	}
}

// operatorFor returns the key to sign the admit consuming h: the one the
// invite was issued with, else DIR/operator.key.
func (n *Node) operatorFor(h roster.TokenHash) (roster.OperatorKey, error) {
	n.joins.mu.Lock()
	p, ok := n.joins.pending[h]
	n.joins.mu.Unlock()
	if ok && n.roster.IsOperator(p.op.Public()) {
		return p.op, nil
	}
	op, err := LoadOperatorKey(n.dir)
	if err != nil {
		return roster.OperatorKey{}, err
	}
	if !n.roster.IsOperator(op.Public()) {
		return roster.OperatorKey{}, roster.ErrNotOperator
	}
	return op, nil
}

// inviteAddrs picks the dialable addresses for an invite: TCP or QUIC v1
// over IP, no unspecified or link-local ones, public first, then LAN, then
// loopback, at most MaxInviteAddrs.
func inviteAddrs(addrs []ma.Multiaddr) []ma.Multiaddr {
	rank := func(a ma.Multiaddr) int {
		switch {
		case manet.IsPublicAddr(a):
			return 0
		case manet.IsIPLoopback(a):
			return 2
		}
		return 1
	}
	var out []ma.Multiaddr
	for _, a := range addrs {
		if manet.IsIPUnspecified(a) || manet.IsIP6LinkLocal(a) || !dialable(a) {
			continue
		}
		out = append(out, a)
	}
	slices.SortStableFunc(out, func(a, b ma.Multiaddr) int { return rank(a) - rank(b) })
	return out[:min(len(out), MaxInviteAddrs)]
}

// dialable: IP, then TCP or QUIC v1, nothing after (no relay circuits).
func dialable(a ma.Multiaddr) bool {
	ps := a.Protocols()
	if len(ps) < 2 {
		return false
	}
	ip := ps[0].Code == ma.P_IP4 || ps[0].Code == ma.P_IP6
	tcp := len(ps) == 2 && ps[1].Code == ma.P_TCP
	quic := len(ps) == 3 && ps[1].Code == ma.P_UDP && ps[2].Code == ma.P_QUIC_V1
	return ip && (tcp || quic)
}

var errNoAddrs = errors.New("invite: this node has no dialable address to put in an invite")
