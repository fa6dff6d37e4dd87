package node

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
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
// DIR/operator.key) and its expiry, which drives the join window; and what
// bounds the guests (join_limits.go).
type joinState struct {
	mu       sync.Mutex
	pending  map[roster.TokenHash]pendingInvite
	limits   JoinLimits             // zero until set: DefaultJoinLimits
	buckets  map[string]*joinBucket // join attempts per remote address
	inFlight int                    // join streams being served
	watched  map[peer.ID]bool       // guests whose deadline has a timer
}

// issuedPrefix keys the store records naming the invites this node issued
// (issuedPrefix ‖ hex(token hash)), so that a restarted node reopens its
// join window for those still open. The value is the expiry (Unix seconds,
// big-endian), for whoever reads the store by hand.
const issuedPrefix = "join/issued/"

func issuedKey(h roster.TokenHash) []byte { return []byte(issuedPrefix + h.String()) }

// ErrNoSuchInvite: WithdrawInvite was given a token no invite entry of the
// roster recorded.
var ErrNoSuchInvite = errors.New("no such invite in this mesh's roster")

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
// node then opens its join window until the invite expires, is used or is
// withdrawn, and reopens it if it is restarted before then (it records in
// its store which invites it issued). The invite carries at most
// MaxInviteAddrs of the host's addresses: direct public ones first, then
// relayed ones (circuit v2) through a public relay, then LAN, then
// loopback.
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
	// Remember that this node issues it, so that a restart reopens the
	// window; first, so that no crash leaves an entry without its record
	// (a record without an entry is dropped at the next Open).
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(inv.Expiry.Unix()))
	if err := n.store.Records().Put(ctx, issuedKey(h), exp[:]); err != nil {
		return Invite{}, fmt.Errorf("invite: %w", err)
	}
	_, err = n.change(func(l *roster.Log) (*roster.Entry, error) {
		return l.Invite(op, roster.Invitation{Token: h, Zone: inv.Zone, Role: inv.Role, Expiry: inv.Expiry}, now)
	})
	if err != nil {
		_ = n.store.Records().Delete(ctx, issuedKey(h))
		return Invite{}, fmt.Errorf("invite: %w", err)
	}
	n.addPending(h, pendingInvite{op: op, expiry: inv.Expiry})
	n.updateJoinWindow()
	n.log.Info("invite issued", "zone", zone, "role", role, "expiry", inv.Expiry, "token", h)
	return inv, nil
}

// addPending adds an open invite of this node and recomputes the window at
// its expiry.
func (n *Node) addPending(h roster.TokenHash, p pendingInvite) {
	n.joins.mu.Lock()
	if n.joins.pending == nil {
		n.joins.pending = map[roster.TokenHash]pendingInvite{}
	}
	n.joins.pending[h] = p
	n.joins.mu.Unlock()
	time.AfterFunc(p.expiry.Sub(n.now())+10*time.Millisecond, func() { n.unlessClosing(n.updateJoinWindow) })
}

// WithdrawInvite withdraws the open invite whose token hashes to h (an
// Invite's TokenHash) before its expiry: it appends a withdraw-invite
// roster entry signed by op, persists and spreads it. From then on every
// node refuses the token (join code "withdrawn"; the roster refuses an
// admit consuming it), and the issuing node closes its join window if no
// other invite of its own is open (when the entry reaches it, if another
// node issued the invite). op may be the zero key: then the key the invite
// was issued with here, else DIR/operator.key. Errors: ErrNoSuchInvite,
// roster.ErrTokenUsed (used already: revoke the peer instead),
// roster.ErrTokenWithdrawn (already withdrawn), ErrInviteExpired,
// roster.ErrNotOperator.
func (n *Node) WithdrawInvite(ctx context.Context, op roster.OperatorKey, h roster.TokenHash) (*roster.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	inv, ok := n.roster.RecordedInvite(h)
	if !ok {
		return nil, fmt.Errorf("withdraw: %w (token %.16s…)", ErrNoSuchInvite, h)
	}
	if p, used := n.roster.TokenUsedBy(h); used {
		return nil, fmt.Errorf("withdraw: %w: it admitted %s; revoke that peer instead", roster.ErrTokenUsed, p)
	}
	if n.roster.Withdrawn(h) {
		return nil, fmt.Errorf("withdraw: %w already", roster.ErrTokenWithdrawn)
	}
	if !n.now().Before(inv.Expiry) {
		return nil, fmt.Errorf("withdraw: %w at %s; nothing to withdraw", ErrInviteExpired, inv.Expiry.UTC().Format(time.RFC3339))
	}
	if op == (roster.OperatorKey{}) {
		var err error
		if op, err = n.operatorFor(h); err != nil {
			return nil, fmt.Errorf("withdraw: %w: this node holds no operator key; pass one", roster.ErrNotOperator)
		}
	} else if !n.roster.IsOperator(op.Public()) {
		return nil, fmt.Errorf("withdraw: %w", roster.ErrNotOperator)
	}
	e, err := n.change(func(l *roster.Log) (*roster.Entry, error) {
		return l.WithdrawInvite(op, h, n.now())
	})
	if err != nil {
		return nil, fmt.Errorf("withdraw: %w", err)
	}
	n.updateJoinWindow()
	n.log.Info("invite withdrawn", "token", h, "zone", inv.Zone, "role", inv.Role)
	return e, nil
}

// reopenInvites runs at Open: for each invite this node issued before it
// was closed (the store's issued records) that the roster still shows open
// (recorded, not consumed, not withdrawn, not expired), it reopens the
// join window, if it holds an operator key to sign the admit with
// (DIR/operator.key: the key an invite was issued with is not kept across
// a restart). Records of invites no longer open are deleted.
func (n *Node) reopenInvites() {
	ctx := n.life
	var issued, stale [][]byte
	err := n.store.Records().Iterate(ctx, []byte(issuedPrefix), func(k, _ []byte) error {
		issued = append(issued, slices.Clone(k))
		return nil
	})
	if err != nil {
		n.log.Warn("cannot read the invites issued before the restart", "err", err)
		return
	}
	now := n.now()
	open := map[roster.TokenHash]roster.Invitation{}
	for _, inv := range n.roster.OpenInvites(now) {
		open[inv.Token] = inv
	}
	reopened := 0
	for _, k := range issued {
		var h roster.TokenHash
		b, err := hex.DecodeString(string(k[len(issuedPrefix):]))
		if err != nil || len(b) != len(h) {
			stale = append(stale, k)
			continue
		}
		h = roster.TokenHash(b)
		inv, ok := open[h]
		if !ok {
			stale = append(stale, k)
			continue
		}
		op, err := n.operatorFor(h)
		if err != nil {
			n.log.Warn("an invite issued before the restart cannot be honoured: this node holds no operator key now; issue a new one",
				"token", h, "expiry", inv.Expiry, "err", err)
			continue
		}
		n.addPending(h, pendingInvite{op: op, expiry: inv.Expiry})
		reopened++
	}
	for _, k := range stale {
		_ = n.store.Records().Delete(ctx, k)
	}
	if reopened > 0 {
		n.updateJoinWindow()
		n.log.Info("join window reopened for invites issued before the restart", "invites", reopened)
	}
}

// updateJoinWindow forgets the invites that expired, were used or were
// withdrawn, sets the join window to the latest remaining expiry (or
// closes it) and, when it closes, drops the guests that did not become
// members. It runs when an invite is issued, used or withdrawn, at each
// expiry, and on every roster change (a withdrawal made elsewhere).
func (n *Node) updateJoinWindow() {
	if n.life.Err() != nil {
		return
	}
	now := n.now()
	n.joins.mu.Lock()
	var until time.Time
	var done []roster.TokenHash
	for h, p := range n.joins.pending {
		if _, used := n.roster.TokenUsedBy(h); used || n.roster.Withdrawn(h) || !now.Before(p.expiry) {
			delete(n.joins.pending, h)
			done = append(done, h)
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
	if len(done) > 0 {
		n.unlessClosing(func() {
			for _, h := range done {
				_ = n.store.Records().Delete(n.life, issuedKey(h))
			}
		})
	}
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
// over IP, directly or through a relay (circuit v2: the relay's address,
// /p2p/relay, /p2p-circuit), no unspecified or link-local ones; direct
// public ones first, then relayed ones through a public relay, then LAN,
// then loopback; at most MaxInviteAddrs.
func inviteAddrs(addrs []ma.Multiaddr) []ma.Multiaddr {
	rank := func(a ma.Multiaddr) int {
		_, circuit := relayOf(a)
		switch {
		case manet.IsPublicAddr(a) && !circuit:
			return 0
		case manet.IsPublicAddr(a):
			return 1
		case manet.IsIPLoopback(a):
			return 3
		}
		return 2
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

// dialable: IP, then TCP or QUIC v1, then nothing, or /p2p/relay/p2p-circuit
// (a relayed address of circuit v2).
func dialable(a ma.Multiaddr) bool {
	ps := a.Protocols()
	if len(ps) < 2 {
		return false
	}
	if _, ok := relayOf(a); ok {
		ps = ps[:len(ps)-2]
	}
	ip := ps[0].Code == ma.P_IP4 || ps[0].Code == ma.P_IP6
	tcp := len(ps) == 2 && ps[1].Code == ma.P_TCP
	quic := len(ps) == 3 && ps[1].Code == ma.P_UDP && ps[2].Code == ma.P_QUIC_V1
	return ip && (tcp || quic)
}

// relayOf returns the relay of a relayed address (one ending in
// /p2p/relay/p2p-circuit).
func relayOf(a ma.Multiaddr) (peer.ID, bool) {
	if len(a) < 3 || a[len(a)-1].Code() != ma.P_CIRCUIT || a[len(a)-2].Code() != ma.P_P2P {
		return "", false
	}
	id, err := peer.IDFromBytes(a[len(a)-2].RawValue())
	return id, err == nil
}

var errNoAddrs = errors.New("invite: this node has no dialable address to put in an invite")
