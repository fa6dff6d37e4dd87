package node

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"

	"respaldo/node/roster"
	"respaldo/node/shard"
)

// runNode runs n until the test ends, then closes it.
func runNode(t *testing.T, n *Node) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = n.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// tryJoinStream runs the join protocol from h (not a member) to a with
// inv; a non-nil error means the stream was refused or the join refused.
func tryJoinStream(t *testing.T, h host.Host, a *Node, inv Invite) error {
	ctx, cancel := context.WithTimeout(context.Background(), scale(5*time.Second))
	defer cancel()
	h.Peerstore().AddAddrs(a.ID(), a.Host().Addrs(), peerstore.TempAddrTTL)
	s, err := h.NewStream(ctx, a.ID(), JoinProtocol)
	if err != nil {
		return err
	}
	defer s.Reset()
	_ = s.SetDeadline(time.Now().Add(scale(3 * time.Second)))
	_, err = joinExchange(s, inv)
	return err
}

// refusedStream checks that h gets no answer from a on proto.
func refusedStream(t *testing.T, h host.Host, a *Node, proto string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scale(5*time.Second))
	defer cancel()
	s, err := h.NewStream(ctx, a.ID(), protocol.ID(proto))
	if err != nil {
		return
	}
	defer s.Reset()
	_ = s.SetDeadline(time.Now().Add(scale(2 * time.Second)))
	_, _ = s.Write([]byte{1, 0})
	var buf [1]byte
	if _, err := s.Read(buf[:]); err == nil {
		t.Errorf("%s: a guest got an answer", proto)
	}
}

func TestJoin(t *testing.T) {
	ctx := context.Background()
	dirA, dirB, dirC := t.TempDir(), t.TempDir(), t.TempDir()
	if _, err := CreateMesh(ctx, dirA, testConfig(), "z0"); err != nil {
		t.Fatal(err)
	}
	a := start(t, dirA)
	op, err := LoadOperatorKey(dirA)
	if err != nil {
		t.Fatal(err)
	}
	if a.Gater().JoinWindowOpen() {
		t.Fatal("join window open before any invite")
	}
	inv1, err := a.Invite(ctx, op, "z2", "storage", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Gater().JoinWindowOpen() || len(a.Roster().OpenInvites(time.Now())) != 1 {
		t.Fatal("no join window or invite entry after Invite")
	}
	if inv1, err = ParseInvite(inv1.String()); err != nil {
		t.Fatal(err)
	}

	// B joins and both see each other live, B with zone z2 from the roster.
	b, err := Join(ctx, dirB, testConfig(), inv1, nil)
	if err != nil {
		t.Fatal(err)
	}
	runNode(t, b)
	eventually(t, 15*time.Second, "A and B live", func() error {
		if err := livePeers(a, map[peer.ID]roster.Zone{b.ID(): "z2"}); err != nil {
			return err
		}
		return livePeers(b, map[peer.ID]roster.Zone{a.ID(): "z0"})
	})
	if a.Gater().JoinWindowOpen() {
		t.Fatal("join window still open after its only invite was used")
	}

	t.Run("window closed: no connection", func(t *testing.T) {
		if err := tryJoinStream(t, outsider(t), a, inv1); err == nil {
			t.Fatal("an unknown host spoke to A with the window closed")
		}
	})

	inv2, err := a.Invite(ctx, op, "z3", "client", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	guest := outsider(t)

	t.Run("refusals", func(t *testing.T) {
		_, err := Join(ctx, dirC, testConfig(), inv1, nil)
		if !errors.Is(err, ErrJoinTokenUsed) || !strings.Contains(err.Error(), "token-used") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("reused invite: %v", err)
		}
		forged := inv2
		forged.Token[0] ^= 1
		if forged, err = ParseInvite(forged.String()); err != nil {
			t.Fatal(err)
		}
		if _, err := Join(ctx, dirC, testConfig(), forged, nil); !errors.Is(err, ErrJoinUnknownToken) {
			t.Fatalf("forged token: %v", err)
		}
		other := inv2
		other.Mesh[0] ^= 1
		if _, err := Join(ctx, dirC, testConfig(), other, nil); !errors.Is(err, ErrJoinWrongMesh) {
			t.Fatalf("another mesh's invite at A: %v", err)
		}
		expired := inv2
		expired.Expiry = time.Now().Add(-time.Minute).Truncate(time.Second)
		if _, err := Join(ctx, dirC, testConfig(), expired, nil); !errors.Is(err, ErrInviteExpired) ||
			!strings.HasPrefix(err.Error(), "invite expired at ") {
			t.Fatalf("expired invite: %v", err)
		}
		// B holds the invite entry (roster sync) but no operator key.
		eventually(t, 10*time.Second, "B learns the invite", func() error {
			if len(b.Roster().OpenInvites(time.Now())) == 0 {
				return errors.New("no open invite at B")
			}
			return nil
		})
		ans := b.answerJoin(guest.ID(), joinRequest{Version: 1, Mesh: inv2.Mesh[:], Token: inv2.Token[:]})
		if ans.Code != "not-operator" {
			t.Fatalf("a node without the operator key answered %+v", ans)
		}
		s := inv2.String()
		mangled := s[:30] + string("ab"[(s[30]-'a'+1)%2]) + s[31:]
		if mangled == s {
			mangled = s[:30] + s[31:]
		}
		if _, err := ParseInvite(mangled); !errors.Is(err, ErrInviteChecksum) {
			t.Fatalf("mangled: %v", err)
		}
	})

	t.Run("expired at the inviter", func(t *testing.T) {
		inv3, err := a.Invite(ctx, op, "z4", "storage", time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(inv3.Expiry) + 10*time.Millisecond)
		cfg := testConfig()
		cfg.Now = func() time.Time { return time.Now().Add(-time.Hour) } // a clock behind
		if _, err := Join(ctx, dirC, cfg, inv3, nil); !errors.Is(err, ErrJoinExpired) {
			t.Fatalf("expired at the inviter: %v", err)
		}
	})

	t.Run("guest speaks join only", func(t *testing.T) {
		bogus := inv2
		bogus.Token = [32]byte{7}
		if err := tryJoinStream(t, guest, a, bogus); !errors.Is(err, ErrJoinUnknownToken) {
			t.Fatalf("a guest's join: %v", err)
		}
		for _, proto := range []string{shard.ProtocolID, RosterProtocol, "/respaldo/kad/1.0.0", "/meshsub/1.1.0"} {
			refusedStream(t, guest, a, proto)
		}
	})

	t.Run("another mesh's dir", func(t *testing.T) {
		dirE := t.TempDir()
		if _, err := CreateMesh(ctx, dirE, testConfig(), ""); err != nil {
			t.Fatal(err)
		}
		_, err := Join(ctx, dirE, testConfig(), inv2, nil)
		var mm *MeshMismatchError
		if !errors.As(err, &mm) || !errors.Is(err, ErrJoinWrongMesh) ||
			!strings.HasPrefix(err.Error(), "invite is for mesh "+inv2.Mesh.String()+", this node belongs to ") {
			t.Fatalf("another mesh's dir: %v", err)
		}
	})

	// C joins with the second invite as a client in z3; the window closes
	// and the lingering guest is dropped.
	c, err := Join(ctx, dirC, testConfig(), inv2, nil)
	if err != nil {
		t.Fatal(err)
	}
	runNode(t, c)
	if m, st := a.Roster().Member(roster.PeerID(c.ID().String()), time.Now()); st != roster.Admitted ||
		m.Zone != "z3" || m.Role != roster.RoleClient {
		t.Fatalf("C: %+v %v", m, st)
	}
	if a.Gater().JoinWindowOpen() {
		t.Fatal("join window open after the last invite was used")
	}
	eventually(t, 5*time.Second, "guest swept", func() error {
		if guest.Network().Connectedness(a.ID()) == network.Connected {
			return errors.New("the guest is still connected")
		}
		return nil
	})
	eventually(t, 10*time.Second, "B learns C", func() error {
		if _, st := b.Roster().Member(roster.PeerID(c.ID().String()), time.Now()); st != roster.Admitted {
			return errors.New(st.String())
		}
		return nil
	})

	// A dir of the same mesh is just opened again.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2, err := Join(ctx, dirB, testConfig(), inv1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b2.ID() != b.ID() {
		t.Fatal("re-join changed the identity")
	}
	b2.Close()
}
