package node

import (
	"net"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// JoinLimits bound what unknown peers may do while a join window is open
// (docs/join.md). Zero fields take the defaults (DefaultJoinLimits).
type JoinLimits struct {
	// GuestTime is how long an unknown peer may stay connected as a
	// guest, from the first time the gater lets it in; then its
	// connections are closed. Default 10 s: the intended joiner needs
	// one exchange.
	GuestTime time.Duration
	// GuestCooldown is how long such a peer is then refused as a guest.
	// Default 1 min.
	GuestCooldown time.Duration
	// Attempts is the burst of join-protocol streams one remote IP
	// address (IPv4, or IPv6 /56) may open; AttemptEvery how often it
	// earns one more. Defaults 3 and 15 s (4 a minute).
	Attempts     int
	AttemptEvery time.Duration
	// InFlight bounds the join streams served at once, from everyone.
	// Default 8.
	InFlight int
	// Loopback: limit attempts from loopback addresses too. They are not
	// by default (like connections per subnet: the machine itself, and
	// every local test mesh, joins from 127.0.0.1).
	Loopback bool
}

// DefaultJoinLimits are the limits of a node that SetJoinLimits never set.
func DefaultJoinLimits() JoinLimits {
	return JoinLimits{GuestTime: 10 * time.Second, GuestCooldown: time.Minute,
		Attempts: 3, AttemptEvery: 15 * time.Second, InFlight: 8}
}

// withDefaults fills the zero fields.
func (l JoinLimits) withDefaults() JoinLimits {
	d := DefaultJoinLimits()
	if l.GuestTime <= 0 {
		l.GuestTime = d.GuestTime
	}
	if l.GuestCooldown <= 0 {
		l.GuestCooldown = d.GuestCooldown
	}
	if l.Attempts <= 0 {
		l.Attempts = d.Attempts
	}
	if l.AttemptEvery <= 0 {
		l.AttemptEvery = d.AttemptEvery
	}
	if l.InFlight <= 0 {
		l.InFlight = d.InFlight
	}
	return l
}

// maxJoinBuckets bounds the remote addresses whose join attempts are counted
// at once; beyond it (after dropping the buckets that are full again),
// attempts from new addresses are refused.
const maxJoinBuckets = 8192

// joinBucket is one remote address's token bucket of join attempts.
type joinBucket struct {
	tokens float64
	last   time.Time
}

// SetJoinLimits sets the node's join limits (zero fields: defaults). Tests
// shorten them; the defaults suit a daemon.
func (n *Node) SetJoinLimits(l JoinLimits) {
	l = l.withDefaults()
	n.joins.mu.Lock()
	n.joins.limits = l
	n.joins.mu.Unlock()
	n.gater.SetGuestLimit(l.GuestTime, l.GuestCooldown)
}

// joinLimits returns the limits in force; joins.mu must be held.
func (j *joinState) joinLimits() JoinLimits {
	if j.limits.GuestTime == 0 {
		j.limits = DefaultJoinLimits()
	}
	return j.limits
}

// startJoins is called once by Open, after the handlers are set: it applies
// the join limits, watches the guests' connections (closing them when their
// time is up) and reopens the join window for the invites this node issued
// before a restart that are still open.
func (n *Node) startJoins() {
	n.joins.mu.Lock()
	l := n.joins.joinLimits()
	n.joins.mu.Unlock()
	n.gater.SetGuestLimit(l.GuestTime, l.GuestCooldown)
	n.host.Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		n.watchGuest(c)
	}})
	n.reopenInvites()
}

// watchGuest starts the clock of an unknown peer the gater let in as a
// guest: at its deadline, if it is still not a member, its connections are
// closed (the gater then refuses it for the cooldown).
func (n *Node) watchGuest(c network.Conn) {
	p := c.RemotePeer()
	if c.Stat().Direction != network.DirInbound || n.allowed(p) {
		return
	}
	until, ok := n.gater.GuestDeadline(p)
	if !ok {
		return
	}
	n.joins.mu.Lock()
	if n.joins.watched == nil {
		n.joins.watched = map[peer.ID]bool{}
	}
	if n.joins.watched[p] {
		n.joins.mu.Unlock()
		return
	}
	n.joins.watched[p] = true
	n.joins.mu.Unlock()
	time.AfterFunc(time.Until(until), func() {
		n.joins.mu.Lock()
		delete(n.joins.watched, p)
		n.joins.mu.Unlock()
		n.unlessClosing(func() {
			if n.allowed(p) || n.host.Network().Connectedness(p) == network.NotConnected {
				return
			}
			n.log.Info("join window: a guest's time is up, disconnecting it", "peer", p)
			_ = n.host.Network().ClosePeer(p)
		})
	})
}

// unlessClosing runs f unless the node is closing, and makes Close wait for it.
func (n *Node) unlessClosing(f func()) {
	n.smu.Lock()
	if n.closing {
		n.smu.Unlock()
		return
	}
	n.bg.Add(1)
	n.smu.Unlock()
	defer n.bg.Done()
	f()
}

// joinAttempt admits one join stream from remote address a, or reports it
// over the limits (its remote address's bucket is empty, or InFlight
// streams are being served). When ok, release must be called at the
// stream's end.
func (n *Node) joinAttempt(a ma.Multiaddr) (release func(), ok bool) {
	key, loopback := attemptKey(a)
	now := time.Now()
	j := &n.joins
	j.mu.Lock()
	defer j.mu.Unlock()
	l := j.joinLimits()
	if j.inFlight >= l.InFlight {
		return nil, false
	}
	if !loopback || l.Loopback {
		if j.buckets == nil {
			j.buckets = map[string]*joinBucket{}
		}
		b := j.buckets[key]
		if b == nil {
			if len(j.buckets) >= maxJoinBuckets {
				j.pruneBuckets(now, l)
			}
			if len(j.buckets) >= maxJoinBuckets {
				return nil, false
			}
			b = &joinBucket{tokens: float64(l.Attempts), last: now}
			j.buckets[key] = b
		}
		b.tokens = min(float64(l.Attempts), b.tokens+float64(now.Sub(b.last))/float64(l.AttemptEvery))
		b.last = now
		if b.tokens < 1 {
			return nil, false
		}
		b.tokens--
	}
	j.inFlight++
	return func() {
		j.mu.Lock()
		j.inFlight--
		j.mu.Unlock()
	}, true
}

// pruneBuckets forgets the buckets that are full again; j.mu is held.
func (j *joinState) pruneBuckets(now time.Time, l JoinLimits) {
	for k, b := range j.buckets {
		if b.tokens+float64(now.Sub(b.last))/float64(l.AttemptEvery) >= float64(l.Attempts) {
			delete(j.buckets, k)
		}
	}
}

// attemptKey names the remote address a join attempt is counted against:
// its IP (the relay's, for a relayed connection), an IPv6 address by its
// /56 (one site's prefix), and says whether it is a loopback address.
func attemptKey(a ma.Multiaddr) (key string, loopback bool) {
	ip, err := manet.ToIP(a)
	if err != nil {
		return a.String(), false
	}
	if ip.IsLoopback() {
		return ip.String(), true
	}
	if ip.To4() == nil {
		ip = ip.Mask(net.CIDRMask(56, 128))
	}
	return ip.String(), false
}
