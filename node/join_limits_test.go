package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	circuitclient "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	ma "github.com/multiformats/go-multiaddr"

	"respaldo/dht"
	"respaldo/node/roster"
	"respaldo/node/store"
)

// startInviter creates a mesh in a new dir and runs its first node, returning it
// with its dir and operator key.
func startInviter(t *testing.T) (*Node, string, roster.OperatorKey) {
	t.Helper()
	dir := t.TempDir()
	if _, err := CreateMesh(context.Background(), dir, testConfig(), "z0"); err != nil {
		t.Fatal(err)
	}
	op, err := LoadOperatorKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	return start(t, dir), dir, op
}

// wantRefusal checks that err is want, on one line naming code.
func wantRefusal(t *testing.T, what string, err, want error, code string) {
	t.Helper()
	if !errors.Is(err, want) || !strings.Contains(err.Error(), code) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

// TestJoinGuestLimit: a guest that lingers is disconnected when its time is
// up and refused for the cooldown, while the window stays open for the
// intended joiner, who joins at once.
func TestJoinGuestLimit(t *testing.T) {
	ctx := context.Background()
	a, _, op := startInviter(t)
	limit := scale(1500 * time.Millisecond)
	a.SetJoinLimits(JoinLimits{GuestTime: limit, GuestCooldown: time.Hour})
	inv, err := a.Invite(ctx, op, "z1", "storage", time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	guest := outsider(t)
	connected := time.Now()
	bogus := inv
	bogus.Token = [32]byte{7}
	if err := tryJoinStream(t, guest, a, bogus); !errors.Is(err, ErrJoinUnknownToken) {
		t.Fatalf("a guest's join: %v", err)
	}
	if guest.Network().Connectedness(a.ID()) != network.Connected {
		t.Fatal("the guest is not connected within its time")
	}
	eventually(t, limit+5*time.Second, "the lingering guest dropped", func() error {
		if guest.Network().Connectedness(a.ID()) == network.Connected {
			return errors.New("still connected")
		}
		return nil
	})
	if held := time.Since(connected); held < limit-200*time.Millisecond {
		t.Fatalf("dropped after %v, before its time (%v)", held, limit)
	}
	if !a.Gater().JoinWindowOpen() {
		t.Fatal("dropping a guest closed the window")
	}
	// Cooling down: refused by the gater, not by the join protocol.
	if err := tryJoinStream(t, guest, a, bogus); err == nil || errors.Is(err, ErrJoinUnknownToken) {
		t.Fatalf("a guest in its cooldown got a join answer: %v", err)
	}

	// The intended joiner is quick: admitted, and stays as a member.
	b, err := Join(ctx, t.TempDir(), testConfig(), inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	runNode(t, b)
	time.Sleep(limit + 500*time.Millisecond)
	eventually(t, 10*time.Second, "B connected to A as a member", func() error {
		if a.Host().Network().Connectedness(b.ID()) != network.Connected {
			return errors.New("not connected")
		}
		if _, st := a.Roster().Member(roster.PeerID(b.ID().String()), time.Now()); st != roster.Admitted {
			return errors.New(st.String())
		}
		return nil
	})
}

// TestJoinRateLimit: join attempts beyond the per-address burst, or beyond
// the streams in flight, are refused with rate-limited.
func TestJoinRateLimit(t *testing.T) {
	ctx := context.Background()
	a, _, op := startInviter(t)
	a.SetJoinLimits(JoinLimits{Attempts: 2, AttemptEvery: time.Hour, Loopback: true})
	inv, err := a.Invite(ctx, op, "z1", "storage", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	guest := outsider(t)
	bogus := inv
	bogus.Token = [32]byte{7}
	for i := range 2 {
		if err := tryJoinStream(t, guest, a, bogus); !errors.Is(err, ErrJoinUnknownToken) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	wantRefusal(t, "third attempt", tryJoinStream(t, guest, a, bogus), ErrJoinRateLimited, "rate-limited")
	// The limit is the address's (127.0.0.1), not the peer's: the real
	// invite, from another peer, is refused too, and not consumed.
	_, err = Join(ctx, t.TempDir(), testConfig(), inv, nil)
	wantRefusal(t, "Join over the limit", err, ErrJoinRateLimited, "rate-limited")
	if len(a.Roster().OpenInvites(time.Now())) != 1 {
		t.Fatal("a rate-limited join consumed the invite")
	}

	// Loopback exempt again (the default), but one stream in flight at most.
	a.SetJoinLimits(JoinLimits{InFlight: 1})
	slow := outsider(t)
	slow.Peerstore().AddAddrs(a.ID(), a.Host().Addrs(), time.Hour)
	sctx, cancel := context.WithTimeout(ctx, scale(5*time.Second))
	defer cancel()
	s, err := slow.NewStream(sctx, a.ID(), protocol.ID(JoinProtocol))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	if _, err := s.Write([]byte{70}); err != nil { // a frame length, then nothing
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the slow stream in flight", func() error {
		a.joins.mu.Lock()
		defer a.joins.mu.Unlock()
		if a.joins.inFlight != 1 {
			return errors.New("not yet")
		}
		return nil
	})
	wantRefusal(t, "while one is in flight", tryJoinStream(t, guest, a, bogus), ErrJoinRateLimited, "rate-limited")
	_ = s.Reset()
	eventually(t, 5*time.Second, "the slow stream released", func() error {
		if err := tryJoinStream(t, guest, a, bogus); !errors.Is(err, ErrJoinUnknownToken) {
			return err
		}
		return nil
	})
}

// TestJoinAfterRestart: an invite issued before the inviter closed still
// opens its join window when it opens again, and works; an invite whose
// node cannot sign any more (no operator key) is not reopened.
func TestJoinAfterRestart(t *testing.T) {
	ctx := context.Background()
	a, dirA, op := startInviter(t)
	inv, err := a.Invite(ctx, op, "z1", "client", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Same addresses after the restart, as a daemon on a fixed port.
	cfg := testConfig()
	cfg.Listen = nil
	for _, ad := range a.Host().Addrs() {
		cfg.Listen = append(cfg.Listen, ad.String())
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	a2, err := Open(ctx, dirA, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	runNode(t, a2)
	if !a2.Gater().JoinWindowOpen() {
		t.Fatal("no join window after the restart")
	}
	b, err := Join(ctx, t.TempDir(), testConfig(), inv, nil)
	if err != nil {
		t.Fatalf("join after the inviter restarted: %v", err)
	}
	runNode(t, b)
	if m, st := a2.Roster().Member(roster.PeerID(b.ID().String()), time.Now()); st != roster.Admitted || m.Zone != "z1" || m.Role != roster.RoleClient {
		t.Fatalf("B: %+v %s", m, st)
	}
	if a2.Gater().JoinWindowOpen() {
		t.Fatal("window still open after its invite was used")
	}
	eventually(t, 5*time.Second, "the used invite's record deleted", func() error {
		if _, err := a2.Store().Records().Get(ctx, issuedKey(inv.TokenHash())); !errors.Is(err, store.ErrNotFound) {
			return errors.New("still recorded")
		}
		return nil
	})

	// An open invite, but no operator key at the restart: no window.
	if _, err := a2.Invite(ctx, op, "z2", "storage", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := a2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dirA, OperatorFile), filepath.Join(dirA, "elsewhere.key")); err != nil {
		t.Fatal(err)
	}
	a3, err := Open(ctx, dirA, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	runNode(t, a3)
	if a3.Gater().JoinWindowOpen() {
		t.Fatal("a window opened for an invite this node can no longer sign the admit of")
	}
}

// TestWithdrawInvite: a withdrawn invite is refused with withdrawn, on every
// node; a withdrawal made on another node closes the inviter's window.
func TestWithdrawInvite(t *testing.T) {
	ctx := context.Background()
	a, _, op := startInviter(t)
	invB, err := a.Invite(ctx, op, "z1", "storage", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Join(ctx, t.TempDir(), testConfig(), invB, nil)
	if err != nil {
		t.Fatal(err)
	}
	runNode(t, b)

	inv1, err := a.Invite(ctx, op, "z2", "storage", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	inv2, err := a.Invite(ctx, op, "z3", "storage", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e, err := a.WithdrawInvite(ctx, roster.OperatorKey{}, inv1.TokenHash()) // the key inv1 was issued with
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != roster.KindWithdrawInvite || e.Token != inv1.TokenHash() || e.Signer != op.Public() {
		t.Fatalf("entry %+v", e)
	}
	if !a.Gater().JoinWindowOpen() {
		t.Fatal("window closed while inv2 is open")
	}
	// The window is open (inv2): the withdrawn token itself is judged.
	_, err = Join(ctx, t.TempDir(), testConfig(), inv1, nil)
	wantRefusal(t, "withdrawn invite", err, ErrJoinWithdrawn, "withdrawn")
	// Mesh-wide: B learns the entry and refuses the token too.
	eventually(t, 10*time.Second, "B learns the withdrawal", func() error {
		if !b.Roster().Withdrawn(inv1.TokenHash()) {
			return errors.New("not yet")
		}
		return nil
	})
	if ans := b.answerJoin(a.ID(), joinRequest{Version: 1, Mesh: inv1.Mesh[:], Token: inv1.Token[:]}); ans.Code != "withdrawn" {
		t.Fatalf("B answered %+v", ans)
	}

	if _, err := a.WithdrawInvite(ctx, op, inv1.TokenHash()); !errors.Is(err, roster.ErrTokenWithdrawn) {
		t.Fatalf("withdrawn twice: %v", err)
	}
	if _, err := a.WithdrawInvite(ctx, op, invB.TokenHash()); !errors.Is(err, roster.ErrTokenUsed) || !strings.Contains(err.Error(), b.ID().String()) {
		t.Fatalf("withdraw a used invite: %v", err)
	}
	if _, err := a.WithdrawInvite(ctx, op, roster.HashToken([]byte("nope"))); !errors.Is(err, ErrNoSuchInvite) {
		t.Fatalf("withdraw an unknown invite: %v", err)
	}
	if _, err := b.WithdrawInvite(ctx, roster.OperatorKey{}, inv2.TokenHash()); !errors.Is(err, roster.ErrNotOperator) {
		t.Fatalf("withdraw without an operator key: %v", err)
	}

	// B withdraws inv2 with the operator key: A's window closes when the
	// entry reaches it.
	eventually(t, 10*time.Second, "B learns inv2", func() error {
		if _, ok := b.Roster().RecordedInvite(inv2.TokenHash()); !ok {
			return errors.New("not yet")
		}
		return nil
	})
	if _, err := b.WithdrawInvite(ctx, op, inv2.TokenHash()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "A's window closed", func() error {
		if a.Gater().JoinWindowOpen() {
			return errors.New("still open")
		}
		return nil
	})
	if _, err := a.Store().Records().Get(ctx, issuedKey(inv2.TokenHash())); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the withdrawn invite is still recorded for a restart: %v", err)
	}
}

// TestJoinThroughRelay: the inviter is reachable only through a circuit v2
// relay; the invite carries the relayed address and the new node joins
// through it (a relay by hand on 127.0.0.1, as dht's TestRelayService).
func TestJoinThroughRelay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), scale(30*time.Second))
	defer cancel()
	a, _, op := startInviter(t)

	rk, _, err := p2pcrypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hc := dht.DefaultHostConfig()
	hc.Key, hc.NATPortMap, hc.RelayService = rk, false, true
	hc.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
	hc.Gater = dht.NewAllowList(func(peer.ID) bool { return true }, nil)
	relay, err := dht.NewHost(ctx, hc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	// A member of the mesh (the roster's relay node), so A may dial it.
	if _, err := a.AdmitPeer(op, relay.ID(), "relay", roster.RoleStorage); err != nil {
		t.Fatal(err)
	}
	rinfo := peer.AddrInfo{ID: relay.ID(), Addrs: relay.Addrs()}
	eventually(t, 5*time.Second, "a reservation at the relay", func() error {
		_, err := circuitclient.Reserve(ctx, a.Host(), rinfo)
		return err
	})
	circuit, err := ma.NewMultiaddr(relay.Addrs()[0].String() + "/p2p/" + relay.ID().String() + "/p2p-circuit")
	if err != nil {
		t.Fatal(err)
	}

	inv, err := a.Invite(ctx, op, "z1", "storage", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	inv.Addrs = []ma.Multiaddr{circuit} // as AutoRelay would advertise it
	if inv, err = ParseInvite(inv.String()); err != nil {
		t.Fatal(err)
	}
	b, err := Join(ctx, t.TempDir(), testConfig(), inv, nil)
	if err != nil {
		t.Fatalf("join through the relay: %v", err)
	}
	runNode(t, b)
	if _, st := a.Roster().Member(roster.PeerID(b.ID().String()), time.Now()); st != roster.Admitted {
		t.Fatalf("B is %s at A", st)
	}
}

// TestJoinAttempts: the bucket per address (IPv6 by /56, a relayed
// connection by its relay's address, loopback exempt by default) and its
// refill, without a network.
func TestJoinAttempts(t *testing.T) {
	for _, c := range []struct{ addr, key string }{
		{"/ip4/203.0.113.9/tcp/4001", "203.0.113.9"},
		{"/ip6/2001:db8:1:2ff:aaaa::1/udp/4001/quic-v1", "2001:db8:1:200::"},
		{"/ip4/203.0.113.9/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA/p2p-circuit", "203.0.113.9"},
		{"/ip4/127.0.0.1/tcp/4001", "127.0.0.1"},
	} {
		if key, _ := attemptKey(ma.StringCast(c.addr)); key != c.key {
			t.Errorf("attemptKey(%s) = %s, want %s", c.addr, key, c.key)
		}
	}
	if _, lo := attemptKey(ma.StringCast("/ip6/::1/tcp/1")); !lo {
		t.Error("::1 is not loopback")
	}

	every := scale(300 * time.Millisecond)
	n := &Node{}
	n.joins.limits = JoinLimits{Attempts: 2, AttemptEvery: every, InFlight: 3}.withDefaults()
	try := func(addr string) bool {
		release, ok := n.joinAttempt(ma.StringCast(addr))
		if ok {
			release()
		}
		return ok
	}
	a, b := "/ip6/2001:db8:1:2ff::1/tcp/1", "/ip6/2001:db8:1:2aa::7/tcp/1" // one /56
	if !try(a) || !try(b) || try(a) {
		t.Fatal("burst of 2 per /56")
	}
	if !try("/ip6/2001:db8:1:300::1/tcp/1") || !try("/ip4/127.0.0.1/tcp/1") || !try("/ip4/127.0.0.1/tcp/1") || !try("/ip4/127.0.0.1/tcp/1") {
		t.Fatal("another /56, or loopback, limited")
	}
	time.Sleep(every + 50*time.Millisecond)
	if !try(a) || try(a) {
		t.Fatal("one attempt more per AttemptEvery")
	}
	var releases []func()
	for i := range 3 {
		r, ok := n.joinAttempt(ma.StringCast(fmt.Sprintf("/ip4/198.51.100.%d/tcp/1", i)))
		if !ok {
			t.Fatalf("in flight %d of 3 refused", i+1)
		}
		releases = append(releases, r)
	}
	if try("/ip4/198.51.100.99/tcp/1") {
		t.Fatal("a fourth in flight")
	}
	releases[0]()
	if !try("/ip4/198.51.100.99/tcp/1") {
		t.Fatal("refused after one in flight ended")
	}
}
