package dht

import (
	"fmt"
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

func TestAllowListGuestLimit(t *testing.T) {
	member, g1, g2 := peer.ID("member"), peer.ID("guest1"), peer.ID("guest2")
	a := NewAllowList(allowOnly(member).Allowed, nil)
	now := time.Unix(1000, 0)
	a.now = func() time.Time { return now }
	in := func(p peer.ID) bool { return a.InterceptSecured(network.DirInbound, p, nil) }

	a.OpenJoinWindow(time.Hour)
	if !in(g1) {
		t.Fatal("no guest limit: refused")
	}
	if _, ok := a.GuestDeadline(g1); ok {
		t.Fatal("a deadline without a guest limit")
	}
	now = now.Add(30 * time.Minute)
	if !in(g1) {
		t.Fatal("no guest limit: refused later in the window")
	}

	a.SetGuestLimit(10*time.Second, time.Minute)
	start := now
	if !in(g1) || !in(g2) {
		t.Fatal("timed guests refused at first")
	}
	if d, ok := a.GuestDeadline(g1); !ok || !d.Equal(start.Add(10*time.Second)) {
		t.Fatalf("deadline %v %v", d, ok)
	}
	now = start.Add(9 * time.Second)
	if !in(g1) {
		t.Fatal("refused within its time")
	}
	now = start.Add(10 * time.Second)
	if in(g1) || in(g2) {
		t.Fatal("let in after its time")
	}
	if !in(member) || !a.InterceptPeerDial(member) {
		t.Fatal("a member is subject to the guest limit")
	}
	now = start.Add(69 * time.Second)
	if in(g1) {
		t.Fatal("let in during the cooldown")
	}
	if _, ok := a.GuestDeadline(g1); !ok {
		t.Fatal("no deadline during the cooldown")
	}
	now = start.Add(70 * time.Second)
	if _, ok := a.GuestDeadline(g1); ok {
		t.Fatal("a deadline after the cooldown")
	}
	if !in(g1) {
		t.Fatal("refused after the cooldown")
	}
	if d, _ := a.GuestDeadline(g1); !d.Equal(now.Add(10 * time.Second)) {
		t.Fatalf("a new time after the cooldown: %v", d)
	}
	a.CloseJoinWindow()
	if in(g1) {
		t.Fatal("a timed guest let in with the window closed")
	}

	// A flood of fresh peer IDs fills the records; then newcomers wait.
	a.OpenJoinWindow(time.Hour)
	for i := range MaxGuests {
		in(peer.ID(fmt.Sprint("flood", i)))
	}
	if in(peer.ID("late")) {
		t.Fatal("let in beyond MaxGuests")
	}
	now = now.Add(2 * time.Minute) // every record lapsed
	if !in(peer.ID("late")) {
		t.Fatal("lapsed records were not pruned")
	}
}
