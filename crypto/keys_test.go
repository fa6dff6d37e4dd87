package crypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestWriteKeysRoundTrip(t *testing.T) {
	m := member(t)
	w, err := m.Write("laptop")
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	w2, err := ParseWriteKeys(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := w2.MarshalBinary()
	if !bytes.Equal(b, b2) {
		t.Fatal("marshal(parse(b)) != b")
	}
	if w2.Device() != "laptop" || w2.Recipient().String() != m.Recipient().String() ||
		w2.ChunkIDKey() != m.ChunkIDKey() || w2.ChunkerKey() != m.ChunkerKey() ||
		w2.HeadSigner() != w.HeadSigner() || w2.MemberID() != m.MemberID() ||
		w2.MemberVerifier() != m.MemberVerifier() || w2.deleteRoot != w.deleteRoot || w2.readRoot != w.readRoot {
		t.Fatal("parsed write keys differ")
	}
}

// The write side holds nothing that yields the identity, the member signer
// or the stripe-secret roots: none of those secrets, nor the recovery key,
// appears in its stored form or in anything fmt prints of it.
func TestWriteKeysHoldNoReadSecret(t *testing.T) {
	k := RecoveryKey{7, 7, 7}
	m := k.Member()
	w, _ := m.Write("laptop")
	b, _ := w.MarshalBinary()
	idSeed := k.derive(labelAgeIdentity)
	memberSeed := k.derive(labelMemberSigning)
	secrets := map[string][]byte{
		"recovery key":       k[:],
		"identity seed":      idSeed[:],
		"member signer seed": memberSeed[:],
		"member signer key":  m.member.key[:32],
		"delete root":        m.deleteRoot.Bytes(),
		"read root":          m.readRoot.Bytes(),
	}
	printed := fmt.Sprintf("%v %+v %#v %s %x", w, w, w, w, w) + fmt.Sprintf("%v %+v %#v %x", m, m, m, m)
	for name, s := range secrets {
		if bytes.Contains(b, s) {
			t.Errorf("stored write keys contain the %s", name)
		}
		if strings.Contains(printed, hex.EncodeToString(s)) {
			t.Errorf("fmt prints the %s", name)
		}
	}
	for _, s := range [][]byte{w.chunkID[:], w.chunker[:], w.head.key[:32]} {
		if strings.Contains(printed, hex.EncodeToString(s)) {
			t.Errorf("fmt prints a write-side secret: %s", printed)
		}
	}
	if strings.Contains(printed, m.Identity().String()[20:40]) {
		t.Error("fmt prints the identity")
	}
}

func TestSecretTypesNotPrinted(t *testing.T) {
	for _, v := range []any{ChunkIDKey{1, 2, 3}, ChunkerKey{1, 2, 3}, DeleteSecret{1, 2, 3}, ReadSecret{1, 2, 3},
		HeadSigner{key: [64]byte{1, 2, 3}}, MemberSigner{key: [64]byte{1, 2, 3}}} {
		for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
			if out := fmt.Sprintf(f, v); strings.Contains(out, "010203") || strings.Contains(out, "[1 2 3") {
				t.Errorf("fmt %s of %T = %s", f, v, out)
			}
		}
	}
}

func TestDevices(t *testing.T) {
	m := member(t)
	a, _ := m.Write("laptop")
	b, _ := m.Write("desktop")
	if a.HeadVerifier() == b.HeadVerifier() {
		t.Fatal("two devices share a head key")
	}
	if a.MemberID() != b.MemberID() || a.ChunkIDKey() != b.ChunkIDKey() || a.deleteRoot != b.deleteRoot {
		t.Fatal("devices of one member disagree on member keys")
	}
	if v, _ := m.HeadVerifier("laptop"); v != a.HeadVerifier() {
		t.Fatal("MemberKeys.HeadVerifier differs from the device's")
	}
	for _, bad := range []string{"", strings.Repeat("x", 65), "a\x00b", "tab\there", "\xff"} {
		if _, err := m.Write(bad); !errors.Is(err, ErrDeviceName) {
			t.Errorf("Write(%q) = %v", bad, err)
		}
	}
	if _, err := m.Write("María's laptop"); err != nil {
		t.Error(err)
	}
}

func TestParseWriteKeysRejects(t *testing.T) {
	w, _ := member(t).Write("laptop")
	good, _ := w.MarshalBinary()
	for name, b := range map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-1],
		"trailing":  append(bytes.Clone(good), 0),
		"not cbor":  []byte("hello"),
		"version 2": bytes.Replace(good, []byte{0x01, 0x01}, []byte{0x01, 0x02}, 1),
	} {
		if _, err := ParseWriteKeys(b); !errors.Is(err, ErrWriteKeysFormat) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A low-order stripe root.
	lo := *w
	lo.readRoot = stripeRoot{1}
	b, _ := lo.MarshalBinary()
	if _, err := ParseWriteKeys(b); !errors.Is(err, ErrWriteKeysFormat) {
		t.Errorf("low-order root: %v", err)
	}
}

func FuzzParseWriteKeys(f *testing.F) {
	w, _ := RecoveryKey{1}.WriteKeys("laptop")
	good, _ := w.MarshalBinary()
	f.Add(good)
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := ParseWriteKeys(b)
		if err != nil {
			if !errors.Is(err, ErrWriteKeysFormat) {
				t.Fatalf("error %v does not wrap ErrWriteKeysFormat", err)
			}
			return
		}
		again, err := w.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseWriteKeys(again); err != nil {
			t.Fatal(err)
		}
	})
}

func TestStripeSecrets(t *testing.T) {
	m := member(t)
	w, _ := m.Write("laptop")
	seen := map[StripeNonce]bool{}
	for range 50 {
		s, err := w.NewStripeSecrets()
		if err != nil {
			t.Fatal(err)
		}
		if seen[s.Nonce] {
			t.Fatal("nonce repeats")
		}
		seen[s.Nonce] = true
		del, err := m.DeleteSecret(s.Nonce)
		if err != nil {
			t.Fatal(err)
		}
		read, err := m.ReadSecret(s.Nonce)
		if err != nil {
			t.Fatal(err)
		}
		if del.ProofKey() != s.DeleteKey || read.ProofKey() != s.ReadKey {
			t.Fatal("the recovery side does not find the write side's secrets")
		}
		if [32]byte(del) == [32]byte(read) || s.DeleteKey == s.ReadKey {
			t.Fatal("deletion and read secrets coincide")
		}
		if ReadSecret(del).ProofKey() == s.ReadKey || DeleteSecret(read).ProofKey() == s.DeleteKey {
			t.Fatal("proof keys are not separated")
		}
	}
	other := RecoveryKey{43}.Member()
	s, _ := w.NewStripeSecrets()
	if d, _ := other.DeleteSecret(s.Nonce); d.ProofKey() == s.DeleteKey {
		t.Fatal("another member derives the deletion secret")
	}
	// Low-order points (u = 0, u = 1) are refused.
	for _, n := range []StripeNonce{{}, {1}} {
		if _, err := m.DeleteSecret(n); !errors.Is(err, ErrBadStripeNonce) {
			t.Errorf("DeleteSecret(%s) = %v", n, err)
		}
		if _, err := m.ReadSecret(n); !errors.Is(err, ErrBadStripeNonce) {
			t.Errorf("ReadSecret(%s) = %v", n, err)
		}
	}
}

func TestSignatures(t *testing.T) {
	m := member(t)
	w, _ := m.Write("laptop")
	msg := []byte("head: seq 7")
	sig := w.HeadSigner().Sign(msg)
	if err := w.HeadVerifier().Verify(msg, sig); err != nil {
		t.Fatal(err)
	}
	if err := w.HeadVerifier().Verify([]byte("head: seq 8"), sig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("verify of another message = %v", err)
	}
	other, _ := m.HeadVerifier("desktop")
	if err := other.Verify(msg, sig); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another device verifies: %v", err)
	}
	msig := m.MemberSigner().Sign(msg)
	if err := w.MemberVerifier().Verify(msg, msig); err != nil {
		t.Fatal(err)
	}
	// Domain separation: the same key material under another domain fails.
	asMember := MemberSigner(w.HeadSigner())
	if err := MemberVerifier(w.HeadVerifier()).Verify(msg, asMember.Sign(msg)); err != nil {
		t.Fatal(err)
	}
	if err := w.HeadVerifier().Verify(msg, asMember.Sign(msg)); !errors.Is(err, ErrBadSignature) {
		t.Fatal("a member-domain signature passes as a head signature")
	}
	// Stable string forms.
	v, err := ParseHeadVerifier(w.HeadVerifier().String())
	if err != nil || v != w.HeadVerifier() {
		t.Fatalf("ParseHeadVerifier: %v", err)
	}
	mv, err := ParseMemberVerifier(w.MemberVerifier().String())
	if err != nil || mv != w.MemberVerifier() {
		t.Fatalf("ParseMemberVerifier: %v", err)
	}
	id, err := ParseMemberID(w.MemberID().String())
	if err != nil || id != w.MemberID() || mv.ID() != id {
		t.Fatalf("ParseMemberID: %v", err)
	}
	if _, err := ParseHeadVerifier("abc"); err == nil {
		t.Fatal("short verifier parsed")
	}
}

func TestChunkID(t *testing.T) {
	m := member(t)
	data := randBytes(100000, 3)
	a := m.ChunkIDKey().Sum(data)
	if a != m.ChunkIDKey().Sum(bytes.Clone(data)) {
		t.Fatal("chunk IDs are not deterministic")
	}
	if a == (RecoveryKey{43}.Member().ChunkIDKey().Sum(data)) {
		t.Fatal("chunk IDs are not keyed")
	}
	if id, err := ParseChunkID(a.String()); err != nil || id != a {
		t.Fatalf("ParseChunkID: %v", err)
	}
	if m.ChunkIDKey() == ChunkIDKey(m.ChunkerKey()) {
		t.Fatal("chunk-ID key and chunker key coincide")
	}
}

// TestStripeProofs: an owner proves a stripe secret by signing a holder's
// challenge; the proof does not pass for another challenge, the other secret
// or another stripe, and the secret itself is never shown.
func TestStripeProofs(t *testing.T) {
	m := RecoveryKey{7}.Member()
	w, err := m.Write("laptop")
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := w.NewStripeSecrets()
	s2, _ := w.NewStripeSecrets()
	read1, _ := m.ReadSecret(s1.Nonce)
	del1, _ := m.DeleteSecret(s1.Nonce)
	challenge := []byte("stripe 1, holder A, nonce 42")
	sig := read1.Prove(challenge)
	if err := s1.ReadKey.VerifyRead(challenge, sig); err != nil {
		t.Fatalf("a true read proof fails: %v", err)
	}
	cases := []struct {
		name string
		err  error
	}{
		{"other challenge", s1.ReadKey.VerifyRead([]byte("stripe 1, holder B, nonce 42"), sig)},
		{"other stripe", s2.ReadKey.VerifyRead(challenge, sig)},
		{"read proof as delete proof", s1.ReadKey.VerifyDelete(challenge, sig)},
		{"delete secret for read", s1.ReadKey.VerifyRead(challenge, del1.Prove(challenge))},
		{"delete proof checked as read", s1.DeleteKey.VerifyRead(challenge, del1.Prove(challenge))},
	}
	for _, c := range cases {
		if !errors.Is(c.err, ErrBadSignature) {
			t.Errorf("%s: got %v, want ErrBadSignature", c.name, c.err)
		}
	}
	if err := s1.DeleteKey.VerifyDelete(challenge, del1.Prove(challenge)); err != nil {
		t.Fatalf("a true delete proof fails: %v", err)
	}
}
