package dht

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// AllowList is the ConnectionGater of a node of a closed mesh. Members (per
// the roster's allowed func) may connect both ways; everyone else is
// refused at InterceptPeerDial, InterceptSecured and InterceptUpgraded, on
// TCP and QUIC alike (both are gated after the handshake, once the peer ID
// is known). While a join window is open, an unknown peer that dials in is
// let through as a guest: only the join protocol serves it, because every
// other handler checks membership itself (RequireMember) — a gater cannot
// filter by protocol. A revoked peer is never a guest.
//
// With SetGuestLimit, a guest is a guest for a limited time only: from the
// first time the gater lets it in, for limit; then it is refused as a guest
// for cooldown (the caller closes the connections it still has at
// GuestDeadline).
//
// The funcs are called on libp2p's connection paths: they must be fast,
// safe for concurrent use, and must not call into the host. AllowList is
// safe for concurrent use.
type AllowList struct {
	allowed func(peer.ID) bool
	revoked func(peer.ID) bool
	now     func() time.Time

	mu         sync.Mutex
	joinUntil  time.Time
	guestLimit time.Duration         // 0: a guest stays until the window ends
	cooldown   time.Duration         // after guestLimit, refused as a guest for this long
	guests     map[peer.ID]time.Time // when each timed guest was first let in
	pruned     time.Time             // last sweep of lapsed guest records
}

// MaxGuests bounds the guests an AllowList times at once (those let in
// within the last guest limit + cooldown). Beyond it, new guests are
// refused until older records lapse: a flood of fresh peer IDs cannot grow
// the gater's memory, at the price of delaying a genuine joiner.
const MaxGuests = 8192

var _ connmgr.ConnectionGater = (*AllowList)(nil)

// NewAllowList returns a gater that admits the peers allowed reports true
// for. revoked (may be nil) names peers to refuse even as guests during a
// join window; allowed must already be false for them.
func NewAllowList(allowed, revoked func(peer.ID) bool) *AllowList {
	if allowed == nil {
		panic("dht: NewAllowList needs an allowed func")
	}
	if revoked == nil {
		revoked = func(peer.ID) bool { return false }
	}
	return &AllowList{allowed: allowed, revoked: revoked, now: time.Now}
}

// OpenJoinWindow lets unknown peers connect in for d from now (it never
// shortens a window already open). When it ends, call Sweep to drop the
// guests that did not become members.
func (a *AllowList) OpenJoinWindow(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if until := a.now().Add(d); until.After(a.joinUntil) {
		a.joinUntil = until
	}
}

// CloseJoinWindow ends the join window now.
func (a *AllowList) CloseJoinWindow() {
	a.mu.Lock()
	a.joinUntil = time.Time{}
	a.mu.Unlock()
}

// JoinWindowOpen reports whether guests are let in now.
func (a *AllowList) JoinWindowOpen() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.now().Before(a.joinUntil)
}

// SetGuestLimit limits how long an unknown peer stays a guest of a join
// window: limit from the first time the gater lets it in (0: until the
// window ends, the default), after which it is refused as a guest for
// cooldown, then may come back once more for limit, and so on. The gater
// only refuses new connections; the caller closes the ones the guest still
// holds at GuestDeadline (the node does, with a timer per guest).
func (a *AllowList) SetGuestLimit(limit, cooldown time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.guestLimit, a.cooldown = max(limit, 0), max(cooldown, 0)
}

// GuestDeadline returns when p's time as a guest ends, if the gater let p
// in as a timed guest (SetGuestLimit) and that time has not ended more than
// a cooldown ago.
func (a *AllowList) GuestDeadline(p peer.ID) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	since, ok := a.guests[p]
	if !ok || a.guestLimit == 0 || !a.now().Before(since.Add(a.guestLimit+a.cooldown)) {
		return time.Time{}, false
	}
	return since.Add(a.guestLimit), true
}

// Allowed reports whether p is a member now (the allowed func).
func (a *AllowList) Allowed(p peer.ID) bool { return a.allowed(p) }

// admit is the decision once the peer and the direction are known.
func (a *AllowList) admit(dir network.Direction, p peer.ID) bool {
	if a.allowed(p) {
		return true
	}
	return dir == network.DirInbound && !a.revoked(p) && a.guest(p)
}

// guest decides an unknown inbound peer: in while the window is open and,
// with a guest limit, while its time lasts.
func (a *AllowList) guest(p peer.ID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if !now.Before(a.joinUntil) {
		return false
	}
	if a.guestLimit == 0 {
		return true
	}
	if since, ok := a.guests[p]; ok {
		switch {
		case now.Before(since.Add(a.guestLimit)):
			return true // its time is not up
		case now.Before(since.Add(a.guestLimit + a.cooldown)):
			return false // cooling down
		}
		delete(a.guests, p) // back after the cooldown: a new time
	}
	if len(a.guests) >= MaxGuests && now.Sub(a.pruned) >= time.Second {
		a.pruned = now
		for q, since := range a.guests {
			if !now.Before(since.Add(a.guestLimit + a.cooldown)) {
				delete(a.guests, q)
			}
		}
	}
	if len(a.guests) >= MaxGuests {
		return false
	}
	if a.guests == nil {
		a.guests = map[peer.ID]time.Time{}
	}
	a.guests[p] = now
	return true
}

// InterceptPeerDial refuses dialing anyone but a member.
func (a *AllowList) InterceptPeerDial(p peer.ID) bool { return a.allowed(p) }

// InterceptAddrDial refuses dialing anyone but a member.
func (a *AllowList) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return a.allowed(p) }

// InterceptAccept lets every inbound connection reach the handshake; the
// peer is not known before it.
func (a *AllowList) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured admits members, and unknown inbound peers while a join
// window is open.
func (a *AllowList) InterceptSecured(dir network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return a.admit(dir, p)
}

// InterceptUpgraded repeats the InterceptSecured decision.
func (a *AllowList) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return a.admit(c.Stat().Direction, c.RemotePeer()), 0
}
