package dht

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	circuitclient "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	circuitproto "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/proto"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/multiformats/go-multistream"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	protoTest protocol.ID = "/respaldo/test/1.0.0"
	protoJoin protocol.ID = "/respaldo/join/1.0.0"
)

// serveOK answers every stream with "ok" and closes it.
func serveOK(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(scaled(5 * time.Second)))
	_, _ = s.Write([]byte("ok"))
}

// ask opens a stream from h to p and reads the answer; nil only if it is
// "ok". The connection used is returned for transport checks.
func ask(ctx context.Context, h host.Host, p peer.ID, proto protocol.ID) (network.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, scaled(5*time.Second))
	defer cancel()
	s, err := h.NewStream(ctx, p, proto)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(scaled(5 * time.Second)))
	b, err := io.ReadAll(s)
	if err != nil {
		return nil, err
	}
	if string(b) != "ok" {
		return nil, fmt.Errorf("answer %q", b)
	}
	return s.Conn(), nil
}

var transports = []struct {
	name string
	code int
}{{"tcp", ma.P_TCP}, {"quic", ma.P_QUIC_V1}}

func TestHostTransports(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ctx := testCtx(t, 20*time.Second)
			a := startHost(t, testHostConfig(t, newKey(t), NewAllowList(allowAll().Allowed, nil)))
			b := startHost(t, testHostConfig(t, newKey(t), NewAllowList(allowAll().Allowed, nil)))
			b.SetStreamHandler(protoTest, serveOK)
			if err := a.Connect(ctx, addrOf(t, b, tr.code)); err != nil {
				t.Fatal(err)
			}
			c, err := ask(ctx, a, b.ID(), protoTest)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.RemoteMultiaddr().ValueForProtocol(tr.code); err != nil {
				t.Fatalf("stream went over %s, want %s", c.RemoteMultiaddr(), tr.name)
			}
		})
	}
}

func TestGaterRefusesStream(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ctx := testCtx(t, 20*time.Second)
			ka, kb := newKey(t), newKey(t)
			// b's roster does not hold a; a's holds b.
			a := startHost(t, testHostConfig(t, ka, NewAllowList(allowAll().Allowed, nil)))
			b := startHost(t, testHostConfig(t, kb, NewAllowList(allowOnly().Allowed, nil)))
			a.SetStreamHandler(protoTest, serveOK)
			b.SetStreamHandler(protoTest, serveOK)

			_ = a.Connect(ctx, addrOf(t, b, tr.code)) // may return nil: the gater acts after the handshake
			if _, err := ask(ctx, a, b.ID(), protoTest); err == nil {
				t.Fatal("a reached a handler on b, whose gater refuses a")
			}
			a.Peerstore().AddAddrs(b.ID(), addrOf(t, b, tr.code).Addrs, time.Minute)
			b.Peerstore().AddAddrs(a.ID(), addrOf(t, a, tr.code).Addrs, time.Minute)
			if _, err := ask(ctx, b, a.ID(), protoTest); err == nil {
				t.Fatal("b dialed a, whom its gater refuses")
			}
			if n := len(b.Network().ConnsToPeer(a.ID())); n != 0 {
				t.Fatalf("b keeps %d connections to a", n)
			}
		})
	}
}

// clearBackoff lets h dial p again at once after a refused dial.
func clearBackoff(h host.Host, p peer.ID) {
	if sw, ok := h.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(p)
	}
}

func TestJoinWindow(t *testing.T) {
	ctx := testCtx(t, 30*time.Second)
	kRevoked := newKey(t)
	revokedID, _ := peer.IDFromPrivateKey(kRevoked)

	roster := allowOnly()
	roster.set(revokedID, false)
	gate := NewAllowList(roster.Allowed, func(p peer.ID) bool { return p == revokedID })
	inviter := startHost(t, testHostConfig(t, newKey(t), gate))
	roster.set(inviter.ID(), true)
	inviter.SetStreamHandler(protoJoin, serveOK) // the only unwrapped handler
	inviter.SetStreamHandler(protoTest, RequireMember(roster.Allowed, serveOK))

	// The joiner's own roster holds the inviter (from the invite).
	joiner := startHost(t, testHostConfig(t, newKey(t), NewAllowList(allowAll().Allowed, nil)))
	guest := startHost(t, testHostConfig(t, newKey(t), NewAllowList(allowAll().Allowed, nil)))
	revoked := startHost(t, testHostConfig(t, kRevoked, NewAllowList(allowAll().Allowed, nil)))
	for _, h := range []host.Host{joiner, guest, revoked} {
		h.Peerstore().AddAddrs(inviter.ID(), inviter.Addrs(), time.Minute)
	}
	// retry waits until h has seen its refused connection close, then lets
	// it dial again at once.
	retry := func(h host.Host) {
		eventually(t, 5*time.Second, "the refused connection to close", func() bool {
			return len(h.Network().ConnsToPeer(inviter.ID())) == 0
		})
		clearBackoff(h, inviter.ID())
	}

	if _, err := ask(ctx, joiner, inviter.ID(), protoJoin); err == nil {
		t.Fatal("a stranger reached the join protocol with no window open")
	}
	retry(joiner)

	gate.OpenJoinWindow(scaled(10 * time.Second))
	if _, err := ask(ctx, joiner, inviter.ID(), protoJoin); err != nil {
		t.Fatalf("join during the window: %v", err)
	}
	if _, err := ask(ctx, joiner, inviter.ID(), protoTest); err == nil {
		t.Fatal("a guest was served a members-only protocol")
	}
	if _, err := ask(ctx, guest, inviter.ID(), protoJoin); err != nil {
		t.Fatalf("second guest: %v", err)
	}
	if _, err := ask(ctx, revoked, inviter.ID(), protoJoin); err == nil {
		t.Fatal("a revoked peer got in during the join window")
	}

	// The joiner is admitted; the guest is not. The window ends.
	roster.set(joiner.ID(), true)
	if _, err := ask(ctx, joiner, inviter.ID(), protoTest); err != nil {
		t.Fatalf("admitted joiner: %v", err)
	}
	gate.CloseJoinWindow()
	if n := Sweep(inviter, gate.Allowed); n != 1 {
		t.Fatalf("Sweep dropped %d peers, want 1 (the guest)", n)
	}
	retry(guest)
	if _, err := ask(ctx, guest, inviter.ID(), protoJoin); err == nil {
		t.Fatal("the guest got in after the window closed")
	}

	// The joiner's machine is seized: revoked, then expelled.
	roster.set(joiner.ID(), false)
	if err := Expel(inviter, joiner.ID()); err != nil {
		t.Fatal(err)
	}
	if n := len(inviter.Network().ConnsToPeer(joiner.ID())); n != 0 {
		t.Fatalf("%d connections to the expelled peer remain", n)
	}
	retry(joiner)
	if _, err := ask(ctx, joiner, inviter.ID(), protoJoin); err == nil {
		t.Fatal("the expelled peer reconnected")
	}
}

func TestNewHostMetrics(t *testing.T) {
	var regs []*prometheus.Registry
	for range 2 { // two hosts, two registries: no collision
		reg := prometheus.NewRegistry()
		cfg := testHostConfig(t, newKey(t), NewAllowList(allowAll().Allowed, nil))
		cfg.Registerer = reg
		startHost(t, cfg)
		regs = append(regs, reg)
	}
	mfs, err := regs[1].Gather()
	if err != nil {
		t.Fatal(err)
	}
	libp2p := 0
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "libp2p_") {
			libp2p++
		}
	}
	if libp2p == 0 {
		t.Fatal("no libp2p metrics in the given registry")
	}
}

func TestNewHostVariants(t *testing.T) {
	noRelays := func(ctx context.Context, num int) <-chan peer.AddrInfo {
		ch := make(chan peer.AddrInfo)
		close(ch)
		return ch
	}
	variants := map[string]func(*HostConfig){
		"behind a NAT":     func(c *HostConfig) { c.Reachability, c.Relays = ReachabilityPrivate, noRelays },
		"auto with relays": func(c *HostConfig) { c.Relays = noRelays },
		"public":           func(c *HostConfig) { c.Reachability = ReachabilityPublic },
		"relay":            func(c *HostConfig) { c.RelayService, c.RelayUnlimited = true, true },
	}
	for name, edit := range variants {
		c := testHostConfig(t, newKey(t), NewAllowList(allowAll().Allowed, nil))
		edit(&c)
		h, err := NewHost(t.Context(), c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_ = h.Close()
	}
}

func TestHostConfigValidate(t *testing.T) {
	good := testHostConfig(t, newKey(t), NewAllowList(allowAll().Allowed, nil))
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := DefaultHostConfig().Validate(); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("defaults without key and gater: %v", err)
	}
	cases := map[string]func(*HostConfig){
		"no key":           func(c *HostConfig) { c.Key = nil },
		"no gater":         func(c *HostConfig) { c.Gater = nil },
		"no listen":        func(c *HostConfig) { c.ListenAddrs = nil },
		"websocket":        func(c *HostConfig) { c.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0/ws"} },
		"garbage addr":     func(c *HostConfig) { c.ListenAddrs = []string{"127.0.0.1:4001"} },
		"old quic":         func(c *HostConfig) { c.ListenAddrs = []string{"/ip4/127.0.0.1/udp/0/quic"} },
		"water marks":      func(c *HostConfig) { c.ConnLow, c.ConnHigh = 10, 10 },
		"grace":            func(c *HostConfig) { c.ConnGrace = -1 },
		"subnet":           func(c *HostConfig) { c.ConnsPerSubnet = 0 },
		"private relay":    func(c *HostConfig) { c.RelayService, c.Reachability = true, ReachabilityPrivate },
		"unlimited alone":  func(c *HostConfig) { c.RelayUnlimited = true },
		"bad reachability": func(c *HostConfig) { c.Reachability = 7 },
		"high water over the resource limit": func(c *HostConfig) {
			l := defaultLimits().ToPartialLimitConfig()
			l.System.Conns = 100
			c.Limits = ptr(l.Build(defaultLimits()))
		},
	}
	for name, edit := range cases {
		c := good
		edit(&c)
		if err := c.Validate(); c.Limits == nil && !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: Validate = %v", name, err)
		}
		if _, err := NewHost(t.Context(), c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: NewHost = %v", name, err)
		}
	}
}

// TestRelayService reserves a slot on a relay host by hand (AutoRelay
// uses only a relay's public addresses, so it cannot run on 127.0.0.1) and
// reaches the reserving host through the circuit, whose gater still rules.
func TestRelayService(t *testing.T) {
	for _, unlimited := range []bool{false, true} {
		t.Run(fmt.Sprintf("unlimited=%v", unlimited), func(t *testing.T) {
			ctx := testCtx(t, 20*time.Second)
			rcfg := testHostConfig(t, newKey(t), NewAllowList(allowAll().Allowed, nil))
			rcfg.RelayService, rcfg.RelayUnlimited = true, unlimited
			relayHost := startHost(t, rcfg)
			eventually(t, 5*time.Second, "the relay service", func() bool {
				return slices.Contains(relayHost.Mux().Protocols(), circuitproto.ProtoIDv2Hop)
			})

			roster := allowAll()
			behind := startHost(t, testHostConfig(t, newKey(t), NewAllowList(roster.Allowed, nil)))
			behind.SetStreamHandler(protoTest, serveOK)
			if _, err := circuitclient.Reserve(ctx, behind, infoOf(relayHost)); err != nil {
				t.Fatal(err)
			}
			circuit := must(ma.NewMultiaddr(fmt.Sprintf("%s/p2p/%s/p2p-circuit", addrOf(t, relayHost, ma.P_TCP).Addrs[0], relayHost.ID())))

			other := startHost(t, testHostConfig(t, newKey(t), NewAllowList(allowAll().Allowed, nil)))
			if err := other.Connect(ctx, peer.AddrInfo{ID: behind.ID(), Addrs: []ma.Multiaddr{circuit}}); err != nil {
				t.Fatal(err)
			}
			var relayed network.Conn
			for _, c := range other.Network().ConnsToPeer(behind.ID()) {
				if _, err := c.RemoteMultiaddr().ValueForProtocol(ma.P_CIRCUIT); err == nil {
					relayed = c
				}
			}
			if relayed == nil {
				t.Fatal("no relayed connection")
			}
			if relayed.Stat().Limited == unlimited {
				t.Fatalf("relayed connection limited=%v with RelayUnlimited=%v", relayed.Stat().Limited, unlimited)
			}
			if err := askOn(ctx, relayed, protoTest); err != nil {
				t.Fatalf("stream through the relay: %v", err)
			}

			// behind's roster drops other: no stream through the relay either.
			roster.set(other.ID(), false)
			_ = Expel(behind, other.ID())
			_ = other.Network().ClosePeer(behind.ID())
			clearBackoff(other, behind.ID())
			if err := other.Connect(ctx, peer.AddrInfo{ID: behind.ID(), Addrs: []ma.Multiaddr{circuit}}); err == nil {
				for _, c := range other.Network().ConnsToPeer(behind.ID()) {
					if askOn(ctx, c, protoTest) == nil {
						t.Fatal("a refused peer got a stream through the relay")
					}
				}
			}
		})
	}
}

// askOn is ask on one given connection, limited or not.
func askOn(ctx context.Context, c network.Conn, proto protocol.ID) error {
	s, err := c.NewStream(network.WithAllowLimitedConn(ctx, "test"))
	if err != nil {
		return err
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(scaled(5 * time.Second)))
	if err := multistream.SelectProtoOrFail(proto, s); err != nil {
		return err
	}
	b, err := io.ReadAll(s)
	if err != nil {
		return err
	}
	if string(b) != "ok" {
		return fmt.Errorf("answer %q", b)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
