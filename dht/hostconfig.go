package dht

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

// Reachability says how a host learns whether others can dial it.
type Reachability int

const (
	// ReachabilityAuto leaves it to AutoNAT (see docs/network.md); a relay
	// service host is then forced public.
	ReachabilityAuto Reachability = iota
	// ReachabilityPublic: a data-centre node with a public address.
	ReachabilityPublic
	// ReachabilityPrivate: behind a NAT for sure; reserve relay slots at
	// once (needs Relays) and hole punch.
	ReachabilityPrivate
)

// HostConfig configures NewHost. Start from DefaultHostConfig, set Key and
// Gater, edit, and call Validate (NewHost calls it too).
type HostConfig struct {
	// Key is the node's identity (its peer ID). Required.
	Key p2pcrypto.PrivKey
	// ListenAddrs are TCP and QUIC (quic-v1) multiaddrs to listen on.
	ListenAddrs []string
	// Gater decides who may connect (the daemon's AllowList). Required: a
	// mesh node never runs ungated.
	Gater connmgr.ConnectionGater

	// RelayService runs a circuit v2 relay for members (data-centre nodes)
	// and the AutoNAT service; it implies ReachabilityPublic unless
	// Reachability says otherwise.
	RelayService bool
	// RelayUnlimited lifts the relay's per-circuit cap (2 min, 128 KiB each
	// way), so members whose hole punching fails can move shards through
	// the relay. Costs the relay's bandwidth; needs RelayService.
	RelayUnlimited bool
	// Relays, when set, yields relay candidates (the roster's relay nodes)
	// for AutoRelay, which reserves slots while the host is not public.
	// AutoRelay uses only a relay's public addresses.
	Relays autorelay.PeerSource
	// Reachability: see the constants.
	Reachability Reachability
	// NATPortMap asks the router for a port mapping (UPnP, NAT-PMP). Off in
	// tests.
	NATPortMap bool

	// ConnLow and ConnHigh are the connection manager's water marks; past
	// ConnHigh it trims to ConnLow, sparing protected peers and those
	// younger than ConnGrace.
	ConnLow, ConnHigh int
	ConnGrace         time.Duration
	// ConnsPerSubnet is how many connections one IPv4 address (or IPv6 /56)
	// may hold at once, and how many relay reservations one IP may hold:
	// members behind one NAT share an address. libp2p's default is 8.
	ConnsPerSubnet int
	// Limits replaces the resource manager's limits (nil: libp2p's
	// defaults with its service limits, scaled to this machine).
	Limits *rcmgr.ConcreteLimitConfig

	// Registerer receives libp2p's metrics; nil turns them off (libp2p
	// would otherwise use the process-wide default registry).
	Registerer prometheus.Registerer
	// UserAgent is announced by identify.
	UserAgent string
}

// DefaultHostConfig returns the defaults for a node on port 4001.
func DefaultHostConfig() HostConfig {
	return HostConfig{
		ListenAddrs: []string{
			"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1",
			"/ip6/::/tcp/4001", "/ip6/::/udp/4001/quic-v1",
		},
		NATPortMap:     true,
		ConnLow:        64,
		ConnHigh:       128,
		ConnGrace:      time.Minute,
		ConnsPerSubnet: 64,
		UserAgent:      "respaldo",
	}
}

// Validate reports the first problem, wrapping ErrInvalidConfig.
func (c HostConfig) Validate() error {
	bad := func(f string, a ...any) error {
		return fmt.Errorf("%w: host: %s", ErrInvalidConfig, fmt.Sprintf(f, a...))
	}
	switch {
	case c.Key == nil:
		return bad("no key")
	case c.Gater == nil:
		return bad("no connection gater")
	case len(c.ListenAddrs) == 0:
		return bad("no listen address")
	case c.ConnLow < 0 || c.ConnHigh <= c.ConnLow:
		return bad("connection water marks %d/%d", c.ConnLow, c.ConnHigh)
	case c.ConnGrace < 0:
		return bad("negative connection grace")
	case c.ConnsPerSubnet < 1:
		return bad("ConnsPerSubnet %d", c.ConnsPerSubnet)
	case c.Reachability < ReachabilityAuto || c.Reachability > ReachabilityPrivate:
		return bad("reachability %d", c.Reachability)
	case c.RelayService && c.Reachability == ReachabilityPrivate:
		return bad("a relay service must be publicly reachable")
	case c.RelayUnlimited && !c.RelayService:
		return bad("RelayUnlimited without RelayService")
	}
	for _, s := range c.ListenAddrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return bad("listen address %q: %v", s, err)
		}
		if !isTCP(a) && !isQUIC(a) {
			return bad("listen address %q is neither TCP nor QUIC v1", s)
		}
	}
	return nil
}

func isTCP(a ma.Multiaddr) bool {
	ps := a.Protocols()
	return len(ps) == 2 && ps[1].Code == ma.P_TCP
}

func isQUIC(a ma.Multiaddr) bool {
	ps := a.Protocols()
	return len(ps) == 3 && ps[1].Code == ma.P_UDP && ps[2].Code == ma.P_QUIC_V1
}

// reachability is the effective setting.
func (c HostConfig) reachability() Reachability {
	if c.Reachability == ReachabilityAuto && c.RelayService {
		return ReachabilityPublic
	}
	return c.Reachability
}
