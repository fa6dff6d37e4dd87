package dht

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"respaldo/crypto"
)

func mustMarshal(t testing.TB, r HeadRecord) []byte {
	t.Helper()
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHeadRecordRoundTrip(t *testing.T) {
	s := newSigner(t, "laptop")
	rec, err := SignHead(s, 7, []byte("encrypted head"))
	if err != nil {
		t.Fatal(err)
	}
	b := mustMarshal(t, rec)
	got, err := DecodeHeadRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 7 || got.Verifier != s.Verifier() || !bytes.Equal(got.Payload, rec.Payload) || got.Sig != rec.Sig {
		t.Fatalf("round trip: got %+v, want %+v", got, rec)
	}
	if err := (HeadValidator{}).Validate(string(KeyFor(s.Verifier())), b); err != nil {
		t.Fatal(err)
	}
	// The wire form is the documented map {1..5} with integer keys.
	var m map[int]any
	if err := cbor.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != 5 || m[1] != uint64(1) || m[3] != uint64(7) || len(m[2].([]byte)) != 32 || len(m[5].([]byte)) != 64 {
		t.Fatalf("wire form: %v", m)
	}
	k := string(rec.Key())
	if !strings.HasPrefix(k, "/respaldo/") || len(k) != len("/respaldo/")+64 {
		t.Fatalf("key %q", k)
	}
	if _, err := ParseHeadKey(k); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRefuses(t *testing.T) {
	s, other := newSigner(t, "laptop"), newSigner(t, "desktop")
	rec, err := SignHead(s, 1, []byte("head"))
	if err != nil {
		t.Fatal(err)
	}
	key := string(rec.Key())

	badSig := rec
	badSig.Sig[0] ^= 1
	otherPayload := rec
	otherPayload.Payload = []byte("tampered")
	reSeq := rec
	reSeq.Seq = 2

	good := mustMarshal(t, rec)
	extra := func() []byte { // a sixth field
		b, _ := encMode.Marshal(map[int]any{1: 1, 2: rec.Verifier[:], 3: 1, 4: rec.Payload, 5: rec.Sig[:], 6: 0})
		return b
	}()
	textKeys := func() []byte {
		b, _ := encMode.Marshal(map[string]any{"1": 1, "2": rec.Verifier[:], "3": 1, "4": rec.Payload, "5": rec.Sig[:]})
		return b
	}()
	v2 := func() []byte {
		w := rec.wire(true)
		w.V = 2
		b, _ := encMode.Marshal(w)
		return b
	}()
	nonCanonical := append([]byte{}, good...) // seq 1 as a two-byte uint
	if i := bytes.Index(nonCanonical, []byte{0x03, 0x01}); i >= 0 {
		nonCanonical = append(nonCanonical[:i+1], append([]byte{0x18, 0x01}, nonCanonical[i+2:]...)...)
	} else {
		t.Fatal("seq field not found")
	}

	cases := []struct {
		name  string
		key   string
		value []byte
		want  error
	}{
		{"bad signature", key, mustMarshal(t, badSig), crypto.ErrBadSignature},
		{"payload changed", key, mustMarshal(t, otherPayload), crypto.ErrBadSignature},
		{"seq changed", key, mustMarshal(t, reSeq), crypto.ErrBadSignature},
		{"key of another verifier", string(KeyFor(other.Verifier())), good, ErrKeyMismatch},
		{"key is the verifier, not its hash", "/respaldo/" + rec.Verifier.String(), good, ErrKeyMismatch},
		{"key not hex", "/respaldo/" + strings.Repeat("g", 64), good, ErrBadRecord},
		{"key upper case", strings.ToUpper(key[:10]) + key[10:], good, ErrBadRecord},
		{"key other namespace", "/pk/" + key[10:], good, ErrBadRecord},
		{"unknown field", key, extra, ErrBadRecord},
		{"text keys", key, textKeys, ErrBadRecord},
		{"version 2", key, v2, ErrBadRecord},
		{"non-canonical", key, nonCanonical, ErrBadRecord},
		{"truncated", key, good[:len(good)-1], ErrBadRecord},
		{"trailing byte", key, append(append([]byte{}, good...), 0), ErrBadRecord},
		{"empty", key, nil, ErrBadRecord},
		{"too big", key, make([]byte, maxHeadRecord+1), ErrBadRecord},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := (HeadValidator{}).Validate(c.key, c.value)
			if !errors.Is(err, c.want) {
				t.Fatalf("Validate: %v, want %v", err, c.want)
			}
		})
	}
}

func TestSignHeadPayloadBounds(t *testing.T) {
	s := newSigner(t, "laptop")
	if _, err := SignHead(s, 1, nil); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("empty payload: %v", err)
	}
	if _, err := SignHead(s, 1, make([]byte, MaxHeadPayload+1)); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("big payload: %v", err)
	}
	r, err := SignHead(s, 1, make([]byte, MaxHeadPayload))
	if err != nil {
		t.Fatal(err)
	}
	if err := (HeadValidator{}).Validate(string(r.Key()), mustMarshal(t, r)); err != nil {
		t.Fatalf("largest payload: %v", err)
	}
}

func TestSelectHighestSeq(t *testing.T) {
	s := newSigner(t, "laptop")
	var vals [][]byte
	for _, seq := range []uint64{1, 2} {
		r, err := SignHead(s, seq, []byte{byte(seq)})
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, mustMarshal(t, r))
	}
	key := string(KeyFor(s.Verifier()))
	v := HeadValidator{}
	if i, err := v.Select(key, [][]byte{vals[0], vals[1]}); err != nil || i != 1 {
		t.Fatalf("Select(1,2) = %d, %v", i, err)
	}
	if i, err := v.Select(key, [][]byte{vals[1], vals[0]}); err != nil || i != 0 {
		t.Fatalf("Select(2,1) = %d, %v", i, err)
	}
	if i, err := v.Select(key, [][]byte{[]byte("junk"), vals[0], vals[1], vals[0]}); err != nil || i != 2 {
		t.Fatalf("Select(junk,1,2,1) = %d, %v", i, err)
	}
	// Identical values: the first, so re-putting a record is accepted.
	if i, err := v.Select(key, [][]byte{vals[1], vals[1]}); err != nil || i != 0 {
		t.Fatalf("Select(2,2) = %d, %v", i, err)
	}
	// Two different heads with one seq: the same winner in either order.
	a, _ := SignHead(s, 5, []byte("a"))
	b, _ := SignHead(s, 5, []byte("b"))
	va, vb := mustMarshal(t, a), mustMarshal(t, b)
	i, _ := v.Select(key, [][]byte{va, vb})
	j, _ := v.Select(key, [][]byte{vb, va})
	if !bytes.Equal([][]byte{va, vb}[i], [][]byte{vb, va}[j]) {
		t.Fatalf("tie broken differently: %d vs %d", i, j)
	}
	if _, err := v.Select(key, [][]byte{[]byte("junk")}); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("Select(junk): %v", err)
	}
}

func FuzzDecodeHeadRecord(f *testing.F) {
	s := newSigner(f, "laptop")
	r, err := SignHead(s, 3, []byte("head"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mustMarshal(f, r))
	f.Add([]byte{0xa0})
	f.Add([]byte{0xbf, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeHeadRecord(b)
		if err != nil {
			return
		}
		again, err := r.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decoded record does not re-encode to its bytes: %v", err)
		}
		_ = (HeadValidator{}).Validate(string(r.Key()), b)
	})
}

// TestHeadRecordKnownAnswer pins the wire form, the signed bytes and the
// key layout (docs/network.md); the key was checked with sha256sum. If
// this changes, the format changed and needs a new version.
func TestHeadRecordKnownAnswer(t *testing.T) {
	var r HeadRecord
	for i := range r.Verifier {
		r.Verifier[i] = 0x11
	}
	for i := range r.Sig {
		r.Sig[i] = 0x22
	}
	r.Seq, r.Payload = 5, []byte("head")
	v, s := strings.Repeat("11", 32), strings.Repeat("22", 64)
	wantWire := "a5" + "0101" + "025820" + v + "0305" + "044468656164" + "055840" + s
	wantSigned := "a4" + "0101" + "025820" + v + "0305" + "044468656164"
	if got := hex.EncodeToString(mustMarshal(t, r)); got != wantWire {
		t.Errorf("wire:\n got %s\nwant %s", got, wantWire)
	}
	signed, err := r.signed()
	if err != nil || hex.EncodeToString(signed) != wantSigned {
		t.Errorf("signed bytes: %x, %v\nwant %s", signed, err, wantSigned)
	}
	if k := r.Key(); k != "/respaldo/02d449a31fbb267c8f352e9968a79e3e5fc95c1bbeaa502fd6454ebde5a4bedc" {
		t.Errorf("key %s", k)
	}
}
