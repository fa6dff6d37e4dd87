package shard

import (
	"bytes"
	"context"
	"encoding/hex"
	"testing"
	"time"

	"respaldo/crypto"
	"respaldo/erasure"
)

func TestGetRefused(t *testing.T) {
	ctx := context.Background()
	e := memEnv(t)
	f := newFixture(t, 100_000)
	e.mustPut(f, 0)
	id := f.d.ID()
	getWith := func(p *wireProof) func(s Stream) error {
		return func(s Stream) error { _, err := zeroClient.get(ctx, s, f.d, 0, p, nil); return err }
	}
	ownerGet := func(self, holder string, now time.Time) func(s Stream) error {
		return func(s Stream) error { _, err := Get(ctx, s, self, holder, f.d, 0, f.read, now); return err }
	}
	cases := []struct {
		name, remote string
		client       func(s Stream) error
	}{
		{"no proof", ownerID, getWith(nil)},
		{"no proof, not approved", otherPeer, getWith(nil)},
		{"proof for another holder", ownerID, ownerGet(ownerID, otherPeer, time.Now())},
		// The proof names the owner, the stream comes from another peer
		// (e.g. a holder that saw it replaying it here).
		{"proof of another requester", otherPeer, ownerGet(ownerID, holderID, time.Now())},
		{"stale", ownerID, ownerGet(ownerID, holderID, time.Now().Add(-6*time.Minute))},
		{"from the future", ownerID, ownerGet(ownerID, holderID, time.Now().Add(6*time.Minute))},
		{"deletion secret", ownerID, getWith(newProof(domainGet, id, 0, holderID, ownerID, time.Now(), f.del.Prove))},
		{"read proof of the delete domain", ownerID, getWith(newProof(domainDelete, id, 0, holderID, ownerID, time.Now(), f.read.Prove))},
		{"another shard's proof", ownerID, getWith(newProof(domainGet, id, 1, holderID, ownerID, time.Now(), f.read.Prove))},
		{"another stripe's secret", ownerID, getWith(newProof(domainGet, id, 0, holderID, ownerID, time.Now(), crypto.ReadSecret(random32(t)).Prove))},
	}
	for _, c := range cases {
		cerr, serr := e.run(c.remote, c.client)
		wantErr(t, c.name, cerr, ErrDenied)
		wantErr(t, c.name+" (server)", serr, ErrDenied)
	}
	// Within the skew is fine.
	cerr, _ := e.run(ownerID, ownerGet(ownerID, holderID, time.Now().Add(-4*time.Minute)))
	if cerr != nil {
		t.Fatalf("proof 4 min old: %v", cerr)
	}
	// The holder's clock decides.
	e.h.Now = func() time.Time { return time.Now().Add(time.Hour) }
	cerr, _ = e.run(ownerID, ownerGet(ownerID, holderID, time.Now()))
	wantErr(t, "holder clock an hour ahead", cerr, ErrDenied)
}

func TestGetReplay(t *testing.T) {
	ctx := context.Background()
	e := memEnv(t)
	f := newFixture(t, 10_000)
	e.mustPut(f, 0)
	p := newProof(domainGet, f.d.ID(), 0, holderID, ownerID, time.Now(), f.read.Prove)
	get := func(s Stream) error { _, err := zeroClient.get(ctx, s, f.d, 0, p, nil); return err }
	if cerr, _ := e.run(ownerID, get); cerr != nil {
		t.Fatal(cerr)
	}
	cerr, _ := e.run(ownerID, get)
	wantErr(t, "replay", cerr, ErrDenied)
	// A fresh proof (new nonce) in the same second is fine.
	if _, err := e.get(f, 0); err != nil {
		t.Fatal(err)
	}
}

func TestReplayMemoryBound(t *testing.T) {
	e := memEnv(t)
	e.h.Limits.MaxProofs = 2
	f := newFixture(t, 1000)
	e.mustPut(f, 0)
	for range 2 {
		if _, err := e.get(f, 0); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.get(f, 0)
	wantErr(t, "third proof", err, ErrBusy)
	// Once the remembered proofs are out of the window, there is room again.
	e.h.Now = func() time.Time { return time.Now().Add(6 * time.Minute) }
	cerr, _ := e.run(ownerID, func(s Stream) error {
		_, err := Get(context.Background(), s, ownerID, holderID, f.d, 0, f.read, time.Now().Add(6*time.Minute))
		return err
	})
	if cerr != nil {
		t.Fatal(cerr)
	}
}

// TestChallengeVector pins the challenge bytes (docs/protocol-shard.md).
func TestChallengeVector(t *testing.T) {
	var stripe erasure.StripeID
	for i := range stripe {
		stripe[i] = byte(i)
	}
	nonce := bytes.Repeat([]byte{0xee}, nonceSize)
	got := challenge(domainGet, stripe, 5, "H", "R", 1767225600, nonce)
	want := "87" + // array(7)
		"75" + hex.EncodeToString([]byte(domainGet)) + // text(21)
		"5820" + "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" + // bytes(32)
		"05" + // index
		"4148" + "4152" + // bytes(1) "H", bytes(1) "R"
		"1a6955b900" + // uint32 unix time
		"50" + "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee" // bytes(16)
	if hex.EncodeToString(got) != want {
		t.Fatalf("challenge\n got %x\nwant %s", got, want)
	}
}
