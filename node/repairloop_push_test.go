package node

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/repair"
)

// A keeper's push of its holder map to a surplus copy's holder that fails
// (the holder down or restarting) is tried again pushRetry later, not an
// hour later: otherwise the surplus copy stayed for an hour.
func TestFailedPushIsRetried(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := CreateMesh(ctx, dir, testConfig(), "z0"); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, dir, testConfig(), nil) // not run: the loop is driven by hand
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	blob := make([]byte, 10_000)
	rand.Read(blob)
	d, shards, err := erasure.Encode(blob, erasure.Params{K: 2, M: 1}, erasure.Secrets{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.store.Put(ctx, d, 0, shards[0]); err != nil {
		t.Fatal(err)
	}
	r := n.repair
	id := d.ID()
	r.mu.Lock()
	r.stripes[id] = &stripeState{id: id, desc: d, located: map[mesh.PeerID][]int{}, avoid: map[mesh.PeerID]time.Time{}}
	r.mu.Unlock()
	k, _, err := lcrypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	gone, _ := peer.IDFromPrivateKey(k) // a peer nobody can reach
	dr := repair.Drop{Index: 0, Peer: mesh.PeerID(gone.String()), Keeper: mesh.PeerID(n.self.String())}
	key := copyKey{id, 0, dr.Peer}
	push := func() time.Time {
		cctx, cancel := context.WithTimeout(ctx, scale(10*time.Second))
		defer cancel()
		r.tellDropper(cctx, repair.Plan{Health: repair.Health{Stripe: id}}, dr)
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.pushed[key]
	}
	first := push()
	if first.IsZero() {
		t.Fatal("no push recorded")
	}
	if due := first.Add(pushEvery); due.After(n.now().Add(pushRetry)) {
		t.Fatalf("after a failed push the next is due in %v, want at most %v", due.Sub(n.now()), pushRetry)
	}
	if again := push(); !again.Equal(first) {
		t.Fatal("a failed push was tried again at once")
	}
}
