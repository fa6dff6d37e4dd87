package dht

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	ma "github.com/multiformats/go-multiaddr"
)

func TestPreferTCPRanks(t *testing.T) {
	m := func(s string) ma.Multiaddr { return ma.StringCast(s) }
	relay := "/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWGfgsRCw9cwsXfH2aaho7qcFkuj98hMRerpdjzQwRvyk6/p2p-circuit"
	for _, tc := range []struct {
		name  string
		addrs []string
		first []string // dialled at once
	}{
		{"both, public", []string{"/ip4/1.2.3.4/udp/4001/quic-v1", "/ip4/1.2.3.4/tcp/4001"}, []string{"/ip4/1.2.3.4/tcp/4001"}},
		{"both, loopback", []string{"/ip4/127.0.0.1/udp/5000/quic-v1", "/ip4/127.0.0.1/tcp/5001"}, []string{"/ip4/127.0.0.1/tcp/5001"}},
		{"quic only", []string{"/ip4/1.2.3.4/udp/4001/quic-v1"}, []string{"/ip4/1.2.3.4/udp/4001/quic-v1"}},
		{"tcp and a relay", []string{relay, "/ip4/1.2.3.4/tcp/4001"}, []string{"/ip4/1.2.3.4/tcp/4001"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in []ma.Multiaddr
			for _, s := range tc.addrs {
				in = append(in, m(s))
			}
			got := preferTCP(in)
			if len(got) != len(in) {
				t.Fatalf("%d addresses ranked of %d: %v", len(got), len(in), got)
			}
			var lastFirst time.Duration
			firsts := map[string]bool{}
			for _, s := range tc.first {
				firsts[s] = true
			}
			for _, d := range got {
				if firsts[d.Addr.String()] {
					lastFirst = max(lastFirst, d.Delay)
				}
			}
			for _, d := range got {
				if !firsts[d.Addr.String()] && d.Delay < lastFirst+tcpHeadStart {
					t.Errorf("%s dialled after %v, before the TCP addresses' %v plus %v", d.Addr, d.Delay, lastFirst, tcpHeadStart)
				}
				if firsts[d.Addr.String()] && d.Delay != 0 && len(tc.first) == 1 {
					t.Errorf("%s dialled after %v, want at once", d.Addr, d.Delay)
				}
			}
		})
	}
}

// Two hosts that both listen on TCP and QUIC connect over TCP, with TLS.
func TestHostsConnectOverTCP(t *testing.T) {
	a := startHost(t, testHostConfig(t, newKey(t), NewAllowList(allowAll().Allowed, nil)))
	b := startHost(t, testHostConfig(t, newKey(t), NewAllowList(allowAll().Allowed, nil)))
	if err := a.Connect(t.Context(), peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
		t.Fatal(err)
	}
	for _, c := range a.Network().ConnsToPeer(b.ID()) {
		if _, err := c.RemoteMultiaddr().ValueForProtocol(ma.P_TCP); err != nil {
			t.Errorf("connected over %s, want TCP", c.RemoteMultiaddr())
		}
		if sec := c.ConnState().Security; sec != libp2ptls.ID {
			t.Errorf("secured with %s, want %s", sec, libp2ptls.ID)
		}
	}
}
