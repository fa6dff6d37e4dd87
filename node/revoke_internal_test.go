package node

import (
	"context"
	"crypto/rand"
	"testing"

	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/node/roster"
)

// A roster change wakes the repair loop at once, whether this node signed
// it (change) or merged it from a peer (merge): a revoked holder's
// stripes are planned again without waiting for the repair interval.
func TestRosterChangeWakesRepair(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := CreateMesh(ctx, dir, testConfig(), "z0"); err != nil {
		t.Fatal(err)
	}
	op, err := LoadOperatorKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, dir, testConfig(), nil) // not run: nothing takes the kick
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	newPeer := func() peer.ID {
		k, _, err := lcrypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := peer.IDFromPrivateKey(k)
		return p
	}
	woken := func() bool {
		select {
		case <-n.repair.kick:
			return true
		default:
			return false
		}
	}
	a, b := newPeer(), newPeer()
	for _, p := range []peer.ID{a, b} {
		if _, err := n.AdmitPeer(op, p, "z1", roster.RoleStorage); err != nil {
			t.Fatal(err)
		}
	}
	woken()
	if _, err := n.Revoke(ctx, op, a, RevokeOptions{Reason: "seized"}); err != nil {
		t.Fatal(err)
	}
	if !woken() {
		t.Error("revoking here did not wake the repair loop")
	}
	other, err := roster.Decode(n.roster.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	e, err := other.Revoke(op, roster.PeerID(b.String()), "stolen", n.now())
	if err != nil {
		t.Fatal(err)
	}
	if woken() {
		t.Fatal("woken with nothing new")
	}
	if err := n.merge([]*roster.Entry{e}); err != nil {
		t.Fatal(err)
	}
	if !woken() {
		t.Error("a revocation merged from a peer did not wake the repair loop")
	}
}
