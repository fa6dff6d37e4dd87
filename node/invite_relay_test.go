package node

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"respaldo/node/roster"
)

// TestInviteRelayAddrs: relayed (circuit v2) addresses of the host go into
// an invite, ranked after direct public ones, and survive its encoding.
func TestInviteRelayAddrs(t *testing.T) {
	const relay = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
	host := []string{
		"/ip4/127.0.0.1/tcp/4001",
		"/ip4/192.168.1.20/tcp/4001",
		"/ip4/198.51.100.7/tcp/4001/p2p/" + relay + "/p2p-circuit",                 // a relay on a documentation (non-public) range: LAN rank
		"/ip4/203.0.113.9/udp/4001/quic-v1/p2p/" + relay + "/p2p-circuit",          // idem
		"/ip4/8.8.8.8/tcp/4001/p2p/" + relay + "/p2p-circuit",                      // public relay
		"/ip6/2001:4860:4860::8888/udp/4001/quic-v1/p2p/" + relay + "/p2p-circuit", // public relay, IPv6
		"/ip4/9.9.9.9/tcp/4001",                                                    // public, direct
		"/ip4/0.0.0.0/tcp/4001/p2p/" + relay + "/p2p-circuit",                      // unspecified: out
		"/ip4/8.8.8.8/tcp/4001/p2p/" + relay + "/p2p-circuit/p2p/" + relay,         // something after the circuit: out
		"/ip4/8.8.8.8/tcp/4001/ws/p2p/" + relay + "/p2p-circuit",                   // relay over WebSocket: out
		"/p2p/" + relay + "/p2p-circuit",                                           // no relay address: out
		"/ip4/8.8.8.8/tcp/4001/p2p-circuit",                                        // no relay ID: out
	}
	var addrs []ma.Multiaddr
	for _, s := range host {
		addrs = append(addrs, ma.StringCast(s))
	}
	got := inviteAddrs(addrs)
	var gotS []string
	for _, a := range got {
		gotS = append(gotS, a.String())
	}
	want := []string{host[6], host[4], host[5], host[1], host[2], host[3], host[0]}
	if !slices.Equal(gotS, want) {
		t.Fatalf("inviteAddrs:\n got %q\nwant %q", gotS, want)
	}
	for _, a := range got[1:3] {
		if r, ok := relayOf(a); !ok || r.String() != relay {
			t.Fatalf("relayOf(%s) = %s %v", a, r, ok)
		}
	}
	if _, ok := relayOf(got[0]); ok {
		t.Fatal("a direct address has a relay")
	}

	id, err := peer.Decode("12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := NewInvite(bytes.NewReader(make([]byte, 32)), roster.MeshID{1}, peer.AddrInfo{ID: id, Addrs: got},
		"z", roster.RoleClient, time.Unix(1900000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	s := inv.String()
	t.Logf("%d chars with %d addresses, 4 of them relayed", len(s), len(got))
	back, err := ParseInvite(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Addrs) != len(got) {
		t.Fatalf("%d addresses back", len(back.Addrs))
	}
	for i, a := range back.Addrs {
		if !a.Equal(got[i]) {
			t.Fatalf("address %d: %s, want %s", i, a, got[i])
		}
	}
	if back.String() != s {
		t.Fatal("re-encodes differently")
	}
}
