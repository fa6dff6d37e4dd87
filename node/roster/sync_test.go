package roster

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
	"time"
)

// forked returns two copies of one log, each extended by a different entry.
func forked(t *testing.T) (a, b *Log) {
	t.Helper()
	a = newLog(t)
	done(t)(a.Admit(key(1), admission(1, "z", RoleStorage), t0))
	b, err := Decode(a.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	done(t)(a.Admit(key(1), admission(2, "z", RoleStorage), t0.Add(time.Hour)))
	done(t)(b.Admit(key(1), admission(3, "z", RoleStorage), t0.Add(time.Hour)))
	return a, b
}

func TestForkDetected(t *testing.T) {
	a, b := forked(t)
	_, ha := a.Head()
	_, hb := b.Head()
	// Overlapping entries: b's seq 2 against a's seq 2.
	err := a.Merge(b.Since(1))
	var fe *ForkError
	if !errors.As(err, &fe) || !errors.Is(err, ErrFork) || fe.Seq != 2 || fe.Ours != ha || fe.Theirs != hb {
		t.Fatalf("got %v", err)
	}
	// Entries that build on b's seq 2: prev names b's entry.
	done(t)(b.Admit(key(1), admission(4, "z", RoleStorage), t0.Add(time.Hour)))
	err = a.Merge(b.Since(2))
	if !errors.As(err, &fe) || fe.Seq != 2 || fe.Ours != ha || fe.Theirs != hb {
		t.Fatalf("got %v", err)
	}
	if seq, h := a.Head(); seq != 2 || h != ha {
		t.Fatal("a fork changed the log")
	}
	// Another mesh altogether.
	other, err := Genesis(key(2), Settings{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	err = a.Merge(other.Entries())
	if !errors.As(err, &fe) || fe.Seq != 0 || fe.Theirs != Hash(other.MeshID()) {
		t.Fatalf("got %v", err)
	}
}

func TestMerge(t *testing.T) {
	src := newLog(t)
	for i := range 6 {
		done(t)(src.Admit(key(1), admission(i, "z", RoleStorage), t0))
	}
	dst, err := Decode(newLog(t).Marshal())
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, dst.Merge(nil), nil)
	wantErr(t, dst.Merge(src.Since(2)), ErrBrokenChain) // gap: dst's head is 0
	wantErr(t, dst.Merge(append(src.Since(0)[:2], src.Since(3)...)), ErrBrokenChain)
	wantErr(t, dst.Merge(src.Entries()[:3]), nil) // overlap with genesis is fine
	wantErr(t, dst.Merge(src.Entries()[:3]), nil) // so is merging twice
	// All or nothing: a bad entry at the end leaves the log unchanged.
	rest := src.Since(2)
	rest[len(rest)-1].Zone = "forged"
	wantErr(t, dst.Merge(rest), ErrBadSignature)
	if seq, _ := dst.Head(); seq != 2 {
		t.Fatalf("partial merge: head %d", seq)
	}
	wantErr(t, dst.Merge(src.Since(2)), nil)
	if !bytes.Equal(dst.Marshal(), src.Marshal()) {
		t.Fatal("logs differ after merge")
	}
	if dst.Since(6) != nil || dst.Since(100) != nil || dst.Since(^uint64(0)) != nil {
		t.Fatal("Since beyond the head is not empty")
	}
	if h, ok := dst.HashAt(3); !ok || h != src.Entries()[3].Hash() {
		t.Fatal("HashAt")
	}
	if _, ok := dst.HashAt(7); ok {
		t.Fatal("HashAt beyond the head")
	}
}

// TestTamper flips every bit pattern of every byte of a log's encoding and
// of each entry's encoding: each change is refused.
func TestTamper(t *testing.T) {
	l := newLog(t)
	done(t)(l.AddOperator(key(1), key(2).Public(), t0))
	done(t)(l.Invite(key(2), Invitation{Token: token(1), Zone: "z", Role: RoleClient, Expiry: t0.Add(time.Hour)}, t0))
	a := admission(1, "z", RoleClient)
	a.Token, a.Expiry = token(1), t0.Add(time.Hour)
	done(t)(l.Admit(key(1), a, t0))
	done(t)(l.Revoke(key(2), peer(1), "seized", t0))
	done(t)(l.RemoveOperator(key(2), key(1).Public(), t0))

	for _, e := range l.Entries() {
		raw := e.Marshal()
		for i := range raw {
			for _, x := range []byte{0x01, 0x80, 0xff} {
				b := bytes.Clone(raw)
				b[i] ^= x
				if _, err := DecodeEntry(b); err == nil {
					t.Fatalf("%s entry with byte %d ^ %#x decodes", e.Kind, i, x)
				}
			}
		}
		for n := range raw {
			if _, err := DecodeEntry(raw[:n]); err == nil {
				t.Fatalf("%s entry cut to %d bytes decodes", e.Kind, n)
			}
		}
	}
	raw := l.Marshal()
	for i := range raw {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		if _, err := Decode(b); err == nil {
			t.Fatalf("log with byte %d flipped decodes", i)
		}
	}
	for n := range raw {
		if _, err := Decode(raw[:n]); err == nil {
			t.Fatalf("log cut to %d bytes decodes", n)
		}
	}
	if _, err := Decode(append(bytes.Clone(raw), 0)); err == nil {
		t.Fatal("log with a trailing byte decodes")
	}
}

// TestDropOrReorder: a log with an entry left out, or two swapped, is refused.
func TestDropOrReorder(t *testing.T) {
	l := newLog(t)
	for i := range 4 {
		done(t)(l.Admit(key(1), admission(i, "z", RoleStorage), t0))
	}
	es := l.Entries()
	if _, err := fromEntries(append(es[:2:2], es[3:]...)); !errors.Is(err, ErrBrokenChain) {
		t.Fatalf("dropped entry: %v", err)
	}
	es[2], es[3] = es[3], es[2]
	if _, err := fromEntries(es); !errors.Is(err, ErrBrokenChain) {
		t.Fatalf("swapped entries: %v", err)
	}
	if _, err := fromEntries(l.Entries()[1:]); !errors.Is(err, ErrBadEntry) {
		t.Fatalf("no genesis: %v", err)
	}
}

// TestKnownAnswer freezes the format: a fixed key, time and settings give
// this mesh ID and these entry bytes forever (ed25519 is deterministic).
func TestKnownAnswer(t *testing.T) {
	l := newLog(t)
	e := done(t)(l.Admit(key(1), Admission{Peer: "12D3KooWKnownAnswer", Zone: "madrid", Role: RoleStorage, Token: HashToken([]byte("t"))}, t0))
	if got := hex.EncodeToString(l.Entries()[0].Marshal()); got != wantGenesis {
		t.Errorf("genesis bytes\n%s, want\n%s", got, wantGenesis)
	}
	if got := l.MeshID().String(); got != wantMeshID {
		t.Errorf("mesh ID %s, want %s", got, wantMeshID)
	}
	if got := e.Hash().String(); got != wantAdmitHash {
		t.Errorf("admit hash %s, want %s", got, wantAdmitHash)
	}
	if got := HashToken([]byte("t")).String(); got != wantTokenHash {
		t.Errorf("token hash %s, want %s", got, wantTokenHash)
	}
}

// Checked outside Go: the hash with sha256sum, the signature over
// "respaldo/v1/roster" || 0x00 || (the map without key 15) with another
// Ed25519 implementation.
const (
	wantGenesis   = "a70001036767656e65736973041b0000019ca9450a000c8158208a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c0d63342b320e58208a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c0f58407a2360830c2f897a3a609ff0f64ca9061c1802cf7a0dae94ec1f8ac4d9c617c9dba49f885d078cdab191adb1b6b8dbbedc4592eaab060cfde933340322ebae0a"
	wantMeshID    = "e2a1155df784b476c079c7e12464db3e884cba9c89d732e4b0c49d4db38746c1"
	wantAdmitHash = "a87f9951194359726bed2e9f68fd9d9ca3bffe848b7b97fbaf48824b88bd2560"
	wantTokenHash = "0b77257072fd38db253cc8f11e186499147d0d81de0895eb578047509681a425"
)

// TestTamperedOverlap: a tampered copy of an entry the log holds is not a
// fork but a bad signature.
func TestTamperedOverlap(t *testing.T) {
	l := newLog(t)
	done(t)(l.Admit(key(1), admission(1, "z", RoleStorage), t0))
	e := l.Entries()[1]
	e.Zone = "elsewhere"
	wantErr(t, l.Merge([]*Entry{e}), ErrBadSignature)
	if err := l.Merge([]*Entry{e}); errors.Is(err, ErrFork) {
		t.Fatal(err)
	}
}
