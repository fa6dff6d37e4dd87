package crypto

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
)

var (
	sharedOnce   sync.Once
	sharedMember *MemberKeys
)

// member returns one MemberKeys for the tests that need any member.
func member(t testing.TB) *MemberKeys {
	t.Helper()
	sharedOnce.Do(func() { sharedMember = RecoveryKey{42}.Member() })
	return sharedMember
}

func randBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	r.Read(b)
	return b
}

func TestDerivedIdentityIsHybrid(t *testing.T) {
	m := member(t)
	if s := m.Recipient().String(); !strings.HasPrefix(s, "age1pq1") {
		t.Fatalf("recipient %.20s… is not a hybrid recipient", s)
	}
	// age re-encodes the seed it parsed: equal strings check our bech32.
	seed := m.rk.derive(labelAgeIdentity)
	if got, want := m.Identity().String(), bech32Encode("AGE-SECRET-KEY-PQ-", seed[:]); got != want {
		t.Fatalf("age encodes the identity as %.30s…, we as %.30s…", got, want)
	}
	if _, err := age.ParseHybridRecipient(m.Recipient().String()); err != nil {
		t.Fatal(err)
	}
}

func TestBech32KnownAnswer(t *testing.T) {
	// BIP-173 valid test vectors.
	if got := bech32Encode("A", nil); got != "A12UEL5L" {
		t.Errorf("bech32(A, ∅) = %s", got)
	}
	if got := bech32Encode("a", nil); got != "a12uel5l" {
		t.Errorf("bech32(a, ∅) = %s", got)
	}
}

func TestSealOpen(t *testing.T) {
	m := member(t)
	for _, n := range []int{0, 1, 100, ageChunk - 1, ageChunk, ageChunk + 1, 3 * ageChunk, 8<<20 + 17} {
		p := randBytes(n, uint64(n))
		ct, err := Seal(p, m.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) != cap(ct) {
			t.Errorf("Seal(%d bytes): len %d, cap %d: the size estimate is off", n, len(ct), cap(ct))
		}
		got, err := Open(ct, m.Identity())
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("Open(Seal(%d bytes)) = %d bytes, %v", n, len(got), err)
		}
		// Seal's output is a standard age file.
		r, err := age.Decrypt(bytes.NewReader(ct), m.Identity())
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(r); !bytes.Equal(got, p) {
			t.Fatalf("age.Decrypt(Seal(%d bytes)) differs", n)
		}
	}
}

func TestEncryptDecryptStream(t *testing.T) {
	m := member(t)
	p := randBytes(1<<20+5, 7)
	var buf bytes.Buffer
	w, err := Encrypt(&buf, m.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	for rest := p; len(rest) > 0; {
		n := min(len(rest), 1000)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Decrypt(&buf, m.Identity())
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, p) {
		t.Fatalf("stream round trip: %d bytes, %v", len(got), err)
	}
}

func TestWrongKey(t *testing.T) {
	ct, err := Seal([]byte("hello"), member(t).Recipient())
	if err != nil {
		t.Fatal(err)
	}
	other := RecoveryKey{43}.Member()
	if _, err := Open(ct, other.Identity()); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Open with another member's identity = %v, want ErrWrongKey", err)
	}
	x, _ := age.GenerateX25519Identity()
	if _, err := Open(ct, x); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Open with an X25519 identity = %v, want ErrWrongKey", err)
	}
}

func TestTampered(t *testing.T) {
	m := member(t)
	p := randBytes(3*ageChunk+100, 1)
	ct, err := Seal(p, m.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	hdr := bytes.Index(ct, []byte("\n--- ")) // the header MAC line
	open := func(c []byte) error { _, err := Open(c, m.Identity()); return err }
	want := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrTampered) || errors.Is(err, ErrWrongKey) {
			t.Errorf("%s: %v, want ErrTampered", what, err)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", what, err)
		}
	}
	// Flip one bit in the header MAC, the stream nonce and in each part of
	// the payload.
	for _, i := range []int{hdr + 6, len(ct) - len(p) - 4*ageTag - 1, len(ct) - len(p) - 4*ageTag + 5,
		len(ct) / 2, len(ct) - ageTag - 1, len(ct) - 1} {
		c := bytes.Clone(ct)
		c[i] ^= 0x10
		want("bit flipped", open(c))
	}
	for _, n := range []int{0, 10, hdr, len(ct) - len(p), len(ct) - ageChunk - ageTag, len(ct) - 1} {
		want("truncated", open(ct[:n]))
	}
	want("extended", open(append(bytes.Clone(ct), 0)))
	want("two blobs joined", open(append(bytes.Clone(ct), ct...)))
	want("not age", open([]byte("hello, this is not an age file at all\n")))

	// Streaming: some plaintext may come out, but never io.EOF.
	c := bytes.Clone(ct)
	c[len(c)-10] ^= 1
	r, err := Decrypt(bytes.NewReader(c), m.Identity())
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	want("streamed, last chunk flipped", err)
}

type failingReader struct {
	r io.Reader
	n int
}

var errDisk = errors.New("disk on fire")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errDisk
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

func TestSourceErrorIsNotTampering(t *testing.T) {
	m := member(t)
	ct, _ := Seal(randBytes(200000, 2), m.Recipient())
	for _, n := range []int{10, 3000} {
		r, err := Decrypt(&failingReader{bytes.NewReader(ct), n}, m.Identity())
		if err == nil {
			_, err = io.ReadAll(r)
		}
		if !errors.Is(err, errDisk) || errors.Is(err, ErrTampered) {
			t.Errorf("source fails after %d bytes: %v, want the source's error", n, err)
		}
	}
}

func TestOpenInPlace(t *testing.T) {
	m := member(t)
	for _, n := range []int{0, 1, 100, ageChunk - 1, ageChunk, ageChunk + 1, 3*ageChunk + 5, 8<<20 + 17} {
		p := randBytes(n, uint64(n)+9)
		ct, err := Seal(p, m.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		got, err := OpenInPlace(ct, m.Identity())
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("OpenInPlace(Seal(%d bytes)) = %d bytes, %v", n, len(got), err)
		}
		if n > 0 && &got[0] != &ct[0] {
			t.Errorf("OpenInPlace(%d bytes): the plaintext is not in the ciphertext's storage", n)
		}
	}
	p := randBytes(3*ageChunk+5, 3)
	for _, c := range []struct {
		name string
		id   age.Identity
		edit func([]byte)
		want error
	}{
		{"another key", RecoveryKey{43}.Member().Identity(), func([]byte) {}, ErrWrongKey},
		{"last chunk changed", m.Identity(), func(b []byte) { b[len(b)-3] ^= 1 }, ErrTampered},
		{"first chunk changed", m.Identity(), func(b []byte) { b[len(b)-3*(ageChunk+ageTag)] ^= 1 }, ErrTampered},
	} {
		ct, err := Seal(p, m.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		c.edit(ct)
		if got, err := OpenInPlace(ct, c.id); !errors.Is(err, c.want) || got != nil {
			t.Errorf("%s: OpenInPlace = %d bytes, %v; want %v", c.name, len(got), err, c.want)
		}
	}
}
