package dht

import (
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

type fakeConn struct {
	network.Conn
	dir network.Direction
	p   peer.ID
}

func (c fakeConn) Stat() network.ConnStats {
	return network.ConnStats{Stats: network.Stats{Direction: c.dir}}
}
func (c fakeConn) RemotePeer() peer.ID { return c.p }

func TestAllowListDecisions(t *testing.T) {
	member, stranger, revoked := peer.ID("member"), peer.ID("stranger"), peer.ID("revoked")
	roster := allowOnly(member)
	a := NewAllowList(roster.Allowed, func(p peer.ID) bool { return p == revoked })
	now := time.Unix(1000, 0)
	a.now = func() time.Time { return now }

	type want struct{ dial, in, out bool }
	check := func(stage string, p peer.ID, w want) {
		t.Helper()
		got := want{
			dial: a.InterceptPeerDial(p) && a.InterceptAddrDial(p, nil),
			in:   a.InterceptSecured(network.DirInbound, p, nil),
			out:  a.InterceptSecured(network.DirOutbound, p, nil),
		}
		up, _ := a.InterceptUpgraded(fakeConn{dir: network.DirInbound, p: p})
		if got != w || up != w.in {
			t.Errorf("%s, %s: got %+v (upgraded in %v), want %+v", stage, p, got, up, w)
		}
	}
	if !a.InterceptAccept(nil) {
		t.Error("InterceptAccept refused before the peer is known")
	}

	check("closed", member, want{true, true, true})
	check("closed", stranger, want{})
	check("closed", revoked, want{})

	a.OpenJoinWindow(5 * time.Second)
	a.OpenJoinWindow(time.Second) // never shortens
	if !a.JoinWindowOpen() {
		t.Fatal("window not open")
	}
	check("open", member, want{true, true, true})
	check("open", stranger, want{in: true}) // a guest: inbound only
	check("open", revoked, want{})

	now = now.Add(4 * time.Second)
	check("open, 4 s later", stranger, want{in: true})
	now = now.Add(2 * time.Second)
	check("expired", stranger, want{})

	a.OpenJoinWindow(time.Minute)
	a.CloseJoinWindow()
	check("closed again", stranger, want{})

	roster.set(member, false) // revoked in the roster
	check("member revoked", member, want{})
}
