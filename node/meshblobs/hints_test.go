package meshblobs

import (
	"bytes"
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/erasure"
)

func newPeerID(t testing.TB) peer.ID {
	t.Helper()
	k, _, err := p2pcrypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHintRecordRoundTrip(t *testing.T) {
	d, _, err := erasure.Encode(randBlob(3, 1000), erasure.DefaultParams, erasure.Secrets{Nonce: [32]byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	h := &hint{d: d, holders: make([]peer.ID, 6)}
	for i := range h.holders {
		if i != 2 {
			h.holders[i] = newPeerID(t)
		}
	}
	b := h.marshal()
	got, err := parseHint(b, d.ID())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.holders, h.holders) || got.d.ID() != d.ID() {
		t.Fatalf("round trip: %+v", got)
	}
	if !bytes.Equal(got.marshal(), b) {
		t.Fatal("re-encoding differs")
	}
	// Under another stripe's key, the record is refused.
	if _, err := parseHint(b, erasure.StripeID{1}); err == nil {
		t.Fatal("a hint of another stripe was accepted")
	}
}

// A bad hint is ignored: the read falls back to finding the holders.
func TestBadHintIsIgnored(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	m := newTestMesh(t, sixZones, nil)
	b := m.blobs(m.config(memberKeys()))
	blob := randBlob(5, 70_000)
	id, err := b.Put(ctx, blob, secrets(t, writeKeys(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.hints.Put(ctx, hintKey(id), []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, id); err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("Get: %v", err)
	}
	if b.loadHint(ctx, id) == nil {
		t.Error("the read did not write a good hint back")
	}
	// Hints that name wrong holders cost failed requests, not the read.
	h := b.loadHint(ctx, id)
	for i := range h.holders {
		h.holders[i] = newPeerID(t)
	}
	b.saveHint(context.Background(), id, h, nil)
	if got, err := b.Get(ctx, id); err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("Get with wrong hints: %v", err)
	}
}

func FuzzParseHint(f *testing.F) {
	d, _, err := erasure.Encode([]byte("x"), erasure.DefaultParams, erasure.Secrets{})
	if err != nil {
		f.Fatal(err)
	}
	h := &hint{d: d, holders: make([]peer.ID, 6)}
	f.Add(h.marshal())
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseHint(b, d.ID())
		if err == nil && got.d.ID() != d.ID() {
			t.Fatal("accepted a hint of another stripe")
		}
	})
}
