package dht

import (
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// RequireMember wraps a stream handler so that it serves members only: a
// stream from a peer allowed reports false for (a guest let in by a join
// window, or a peer revoked since it connected) is reset unread. Every
// handler but the join protocol's must be wrapped.
func RequireMember(allowed func(peer.ID) bool, h network.StreamHandler) network.StreamHandler {
	return func(s network.Stream) {
		if !allowed(s.Conn().RemotePeer()) {
			_ = s.Reset()
			return
		}
		h(s)
	}
}

// Expel closes every connection to p (a peer just revoked) and forgets its
// addresses. The gater must already refuse p, or p reconnects at once.
func Expel(h host.Host, p peer.ID) error {
	err := h.Network().ClosePeer(p)
	h.Peerstore().ClearAddrs(p)
	return err
}

// Sweep closes the connections to every connected peer that allowed
// reports false for, e.g. when a join window ends (guests that did not
// become members) or after a roster change. It returns how many peers it
// dropped.
func Sweep(h host.Host, allowed func(peer.ID) bool) int {
	n := 0
	for _, p := range h.Network().Peers() {
		if !allowed(p) {
			_ = h.Network().ClosePeer(p)
			n++
		}
	}
	return n
}

// MembersOnly returns h as seen by a service that must serve members only:
// every stream handler the service registers through it is wrapped with
// RequireMember, so a guest of a join window is reset at once. kad-dht gets
// it when Config.Members is set; the daemon hands it to gossipsub, whose own
// peer filter only governs mesh and gossip choices, not who may open a
// stream.
func MembersOnly(h host.Host, allowed func(peer.ID) bool) host.Host {
	return memberHost{Host: h, allowed: allowed}
}

// memberHost is MembersOnly's host.
type memberHost struct {
	host.Host
	allowed func(peer.ID) bool
}

func (m memberHost) SetStreamHandler(pid protocol.ID, h network.StreamHandler) {
	m.Host.SetStreamHandler(pid, RequireMember(m.allowed, h))
}

func (m memberHost) SetStreamHandlerMatch(pid protocol.ID, match func(protocol.ID) bool, h network.StreamHandler) {
	m.Host.SetStreamHandlerMatch(pid, match, RequireMember(m.allowed, h))
}
