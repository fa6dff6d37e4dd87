package dht

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	p2pconnmgr "github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// defaultLimits are libp2p's default limits with its service limits,
// scaled to this machine; computed once (SetDefaultServiceLimits writes
// into maps shared with rcmgr.DefaultLimits).
var defaultLimits = sync.OnceValue(func() rcmgr.ConcreteLimitConfig {
	l := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&l)
	return l.AutoScale()
})

// NewHost starts a libp2p host as cfg says: TCP and QUIC, Noise and TLS,
// yamux, the resource manager, the connection manager and cfg.Gater;
// AutoNAT, the relay v2 transport, hole punching, and optionally a relay
// service, AutoRelay and NAT port mapping. The caller closes the host.
func NewHost(ctx context.Context, cfg HostConfig) (host.Host, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rm, err := newResourceManager(cfg)
	if err != nil {
		return nil, err
	}
	cm, err := connmgr.NewConnManager(cfg.ConnLow, cfg.ConnHigh, connmgr.WithGracePeriod(cfg.ConnGrace))
	if err != nil {
		rm.Close()
		return nil, fmt.Errorf("dht: connection manager: %w", err)
	}
	// libp2p only logs this conflict; a node that trims connections it may
	// not even open is misconfigured.
	if l, ok := rm.(p2pconnmgr.GetConnLimiter); ok {
		if err := cm.CheckLimit(l); err != nil {
			rm.Close()
			cm.Close()
			return nil, fmt.Errorf("%w: host: %v", ErrInvalidConfig, err)
		}
	}
	opts := []libp2p.Option{
		libp2p.Identity(cfg.Key),
		libp2p.ListenAddrStrings(cfg.ListenAddrs...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		// TLS 1.3 first: Go's TLS picks AES-GCM where the CPU has AES
		// instructions and ChaCha20-Poly1305 where it has not (a Raspberry
		// Pi 4), where Noise is always ChaCha20-Poly1305 (dialrank.go).
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.ConnectionGater(cfg.Gater),
		libp2p.EnableRelay(),
		libp2p.EnableHolePunching(),
		libp2p.UserAgent(cfg.UserAgent),
		libp2p.DialRanker(preferTCP), // dialrank.go: TCP first, QUIC 250 ms later
	}
	if cfg.Registerer != nil {
		opts = append(opts, libp2p.PrometheusRegisterer(cfg.Registerer))
	} else {
		opts = append(opts, libp2p.DisableMetrics())
	}
	switch cfg.reachability() {
	case ReachabilityPublic:
		opts = append(opts, libp2p.ForceReachabilityPublic(), libp2p.EnableNATService())
	case ReachabilityPrivate:
		opts = append(opts, libp2p.ForceReachabilityPrivate())
	}
	if cfg.RelayService {
		res := relay.DefaultResources()
		res.MaxReservationsPerIP = cfg.ConnsPerSubnet
		ropts := []relay.Option{relay.WithResources(res)}
		if cfg.RelayUnlimited {
			ropts = append(ropts, relay.WithInfiniteLimits())
		}
		opts = append(opts, libp2p.EnableRelayService(ropts...))
	}
	if cfg.Relays != nil {
		// Tuned for a mesh with a handful of relays, not for the public
		// network: take the first candidate at once, retry a failed one
		// after a minute rather than an hour.
		opts = append(opts, libp2p.EnableAutoRelayWithPeerSource(cfg.Relays,
			autorelay.WithMinCandidates(1), autorelay.WithBootDelay(0),
			autorelay.WithBackoff(time.Minute), autorelay.WithMinInterval(10*time.Second)))
	}
	if cfg.NATPortMap {
		opts = append(opts, libp2p.NATPortMap())
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		rm.Close()
		cm.Close()
		return nil, fmt.Errorf("dht: new host: %w", err)
	}
	return h, nil
}

// newResourceManager applies cfg's limits and per-subnet allowance; with
// metrics on, it also feeds the resource manager's own metrics.
func newResourceManager(cfg HostConfig) (network.ResourceManager, error) {
	limits := defaultLimits()
	if cfg.Limits != nil {
		limits = *cfg.Limits
	}
	n := cfg.ConnsPerSubnet
	opts := []rcmgr.Option{rcmgr.WithLimitPerSubnet(
		[]rcmgr.ConnLimitPerSubnet{{PrefixLength: 32, ConnCount: n}},
		[]rcmgr.ConnLimitPerSubnet{{PrefixLength: 56, ConnCount: n}, {PrefixLength: 48, ConnCount: 8 * n}},
	)}
	if cfg.Registerer != nil {
		str, err := rcmgr.NewStatsTraceReporter()
		if err != nil {
			return nil, fmt.Errorf("dht: resource manager metrics: %w", err)
		}
		opts = append(opts, rcmgr.WithTraceReporter(str))
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits), opts...)
	if err != nil {
		return nil, fmt.Errorf("dht: resource manager: %w", err)
	}
	return rm, nil
}
