package erasure

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

func sampleDescriptor(t testing.TB) *Descriptor {
	t.Helper()
	sec := Secrets{Nonce: [32]byte{1, 2, 3}, DeleteKey: [32]byte{4}, ReadKey: [32]byte{5}}
	d, _, err := Encode(randBlob(rand.New(rand.NewPCG(1, 1)), 200000), Params{4, 2}, sec)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func cloneDescriptor(d *Descriptor) *Descriptor {
	c := *d
	c.Shards = append([]cid.Cid(nil), d.Shards...)
	return &c
}

func TestDescriptorRoundTrip(t *testing.T) {
	d := sampleDescriptor(t)
	b := d.Marshal()
	if !bytes.Equal(b, d.Marshal()) {
		t.Fatal("Marshal is not deterministic")
	}
	if d.ID() != StripeID(sha256.Sum256(b)) {
		t.Fatal("ID is not SHA-256 of Marshal")
	}
	if len(b) > MaxDescriptorSize {
		t.Fatalf("descriptor of %d bytes", len(b))
	}
	back, err := DecodeDescriptor(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID() != d.ID() || back.Secrets != d.Secrets || back.Params() != (Params{4, 2}) {
		t.Fatal("round trip changed the descriptor")
	}
	b[len(b)-1] ^= 1 // the read hash: still valid, another stripe
	if _, err := DecodeDescriptor(b); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDescriptor(b, d.ID()); !errors.Is(err, ErrStripeIDMismatch) || !strings.Contains(err.Error(), d.ID().String()) {
		t.Fatalf("OpenDescriptor under the wrong ID: %v", err)
	}
	b[len(b)-1] ^= 1
	if got, err := OpenDescriptor(b, d.ID()); err != nil || got.ID() != d.ID() {
		t.Fatalf("OpenDescriptor: %v", err)
	}
}

// The largest descriptor (k+m=256) fits MaxDescriptorSize.
func TestDescriptorMaxSize(t *testing.T) {
	d := mustDescriptor(t, []byte("x"), Params{128, 128})
	b := d.Marshal()
	if len(b) > MaxDescriptorSize || len(b) < 10000 {
		t.Fatalf("256-shard descriptor is %d bytes", len(b))
	}
	if _, err := DecodeDescriptor(b); err != nil {
		t.Fatal(err)
	}
}

func mustDescriptor(t testing.TB, blob []byte, p Params) *Descriptor {
	d, _ := mustEncode(t, blob, p)
	return d
}

func TestDescriptorValidate(t *testing.T) {
	good := sampleDescriptor(t)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	other := func(codec uint64, h uint64) cid.Cid {
		m, err := mh.Sum([]byte("x"), h, -1)
		if err != nil {
			t.Fatal(err)
		}
		return cid.NewCidV1(codec, m)
	}
	v0 := cid.NewCidV0(must(mh.Sum([]byte("x"), mh.SHA2_256, -1)))
	for _, tc := range []struct {
		name   string
		mutate func(d *Descriptor)
		want   string
	}{
		{"version 3", func(d *Descriptor) { d.Version = 3 }, "unknown version 3"},
		{"version 0", func(d *Descriptor) { d.Version = 0 }, "unknown version 0"},
		{"k=0", func(d *Descriptor) { d.K = 0 }, "k=0"},
		{"m=-1", func(d *Descriptor) { d.M = -1 }, "m=-1"},
		{"k+m=300", func(d *Descriptor) { d.K, d.M = 200, 100 }, "k+m=300 exceeds 256 shards"},
		{"5 CIDs", func(d *Descriptor) { d.Shards = d.Shards[:5] }, "5 shard CIDs for k+m=6"},
		{"size -1", func(d *Descriptor) { d.Size = -1 }, "size -1"},
		{"size too big", func(d *Descriptor) { d.Size = MaxBlobSize + 1 }, "size 67108865"},
		{"shard size", func(d *Descriptor) { d.ShardSize++ }, "shard size 50001, want 50000"},
		{"size vs shard size", func(d *Descriptor) { d.Size = 150000 }, "want 37500"},
		{"undefined CID", func(d *Descriptor) { d.Shards[2] = cid.Undef }, "shard 2: CID (undefined)"},
		{"CIDv0", func(d *Descriptor) { d.Shards[0] = v0 }, "not a shard CID"},
		{"dag-pb CID", func(d *Descriptor) { d.Shards[0] = cid.NewCidV1(cid.DagProtobuf, d.Shards[0].Hash()) }, "not a shard CID"},
		{"sha2-256 CID", func(d *Descriptor) { d.Shards[3] = other(cid.Raw, mh.SHA2_256) }, "shard 3: CID 01551220"},
		{"sha3 CID", func(d *Descriptor) { d.Shards[5] = other(cid.Raw, mh.SHA3_256) }, "shard 5"},
		{"identity CID", func(d *Descriptor) { d.Shards[1] = other(cid.Raw, mh.IDENTITY) }, "shard 1"},
	} {
		d := cloneDescriptor(good)
		tc.mutate(d)
		err := d.Validate()
		if !errors.Is(err, ErrBadDescriptor) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrBadDescriptor containing %q", tc.name, err, tc.want)
			continue
		}
		// The same descriptor from the wire is rejected the same way.
		if _, err := DecodeDescriptor(d.Marshal()); !errors.Is(err, ErrBadDescriptor) {
			t.Errorf("%s: DecodeDescriptor: %v", tc.name, err)
		}
		// Using it must not panic.
		_ = d.ID()
		_ = d.Pieces()
		_ = d.VerifyShard(0, nil)
		_ = d.VerifyPiece(0, 0, nil, nil)
		_, _ = Join(d, make([][]byte, 6))
		_ = Reconstruct(d, make([][]byte, 6))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestDecodeK300: a well-formed encoding of a 200+100 stripe is refused with
// a message that says why.
func TestDecodeK300(t *testing.T) {
	d := cloneDescriptor(sampleDescriptor(t))
	d.K, d.M = 200, 100
	for len(d.Shards) < 300 {
		d.Shards = append(d.Shards, d.Shards[0])
	}
	_, err := DecodeDescriptor(d.Marshal())
	if !errors.Is(err, ErrBadDescriptor) || err.Error() != "bad descriptor: k+m=300 exceeds 256 shards" {
		t.Fatalf("got %v", err)
	}
}

// encodeWire encodes a raw wire form (test helper for malformed input).
func encodeWire(t *testing.T, w *wireDescriptor) []byte {
	b, err := encMode.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wireOf(d *Descriptor) *wireDescriptor {
	var w wireDescriptor
	if err := decMode.Unmarshal(d.Marshal(), &w); err != nil {
		panic(err)
	}
	return &w
}

func TestDecodeDescriptorStrict(t *testing.T) {
	d := sampleDescriptor(t)
	canon := d.Marshal()
	if canon[0] != 0xa9 || canon[1] != 0x00 || canon[2] != 0x02 {
		t.Fatalf("unexpected head % x", canon[:3])
	}
	splice := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tail := len(canon) - 3*35 // the last three entries: 06, 07, 08 with 32-byte strings
	garbage := randBlob(rand.New(rand.NewPCG(2, 2)), 500)
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "not a CBOR map"},
		{"null", []byte{0xf6}, "not a CBOR map"},
		{"array", []byte{0x80}, "not a CBOR map"},
		{"tagged", splice([]byte{0xd8, 0x2a}, canon), "not a CBOR map"},
		{"garbage", garbage, "bad descriptor"},
		{"text", []byte("hello, world"), "not a CBOR map"},
		{"empty map", []byte{0xa0}, "bad descriptor"},
		{"too long", make([]byte, MaxDescriptorSize+1), "more than 32768"},
		{"truncated", canon[:len(canon)-1], "bad descriptor"},
		{"trailing byte", splice(canon, []byte{0x00}), "extraneous data"},
		{"second descriptor", splice(canon, canon), "extraneous data"},
		{"non-shortest int", splice([]byte{0xa9, 0x00, 0x18, 0x02}, canon[3:]), "not in canonical encoding"},
		{"unknown key", splice([]byte{0xaa}, canon[1:], []byte{0x09, 0x00}), "unknown field"},
		{"version 1", splice([]byte{0xaa, 0x00, 0x01}, canon[3:], []byte{0x09, 0x58, 0x20}, make([]byte, 32)), "bad descriptor: version 1 (this program reads version 2)"},
		{"duplicate key", splice([]byte{0xaa}, canon[1:], []byte{0x00, 0x02}), "duplicate map key"},
		{"unsorted keys", splice(canon[:tail], canon[tail+35:tail+70], canon[tail:tail+35], canon[tail+70:]), "not in canonical encoding"},
		{"missing key", splice([]byte{0xa8}, canon[1:len(canon)-35]), "read hash has 0 bytes"},
		{"indefinite map", splice([]byte{0xbf}, canon[1:], []byte{0xff}), "indefinite-length"},
		{"tag inside", splice(canon[:tail+1], []byte{0xd8, 0x40}, canon[tail+1:]), "tag"},
	} {
		_, err := DecodeDescriptor(tc.in)
		if !errors.Is(err, ErrBadDescriptor) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrBadDescriptor containing %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: message not one line: %q", tc.name, err)
		}
	}

	// Malformed fields, built from the wire form.
	for _, tc := range []struct {
		name   string
		mutate func(w *wireDescriptor)
		want   string
	}{
		{"short CID", func(w *wireDescriptor) { w.Shards[3] = w.Shards[3][:cidLen-1] }, "shard 3: CID"},
		{"sha2-256 CID", func(w *wireDescriptor) {
			w.Shards[2] = append([]byte("\x01\x55\x12\x20"), w.Shards[2][len(cidPrefix):]...)
		}, "shard 2: CID"},
		{"long nonce", func(w *wireDescriptor) { w.Nonce = append(w.Nonce, 0) }, "nonce has 33 bytes"},
		{"short delete hash", func(w *wireDescriptor) { w.DeleteKey = nil }, "deletion hash has 0 bytes"},
		{"CID with trailing byte", func(w *wireDescriptor) { w.Shards[1] = append(w.Shards[1], 0) }, "shard 1: CID"},
		{"CID dag-pb", func(w *wireDescriptor) { w.Shards[0][1] = 0x70 }, "shard 0: CID"},
		{"negative k", func(w *wireDescriptor) { w.K = -4 }, "out of range"},
		{"huge version", func(w *wireDescriptor) { w.Version = 1 << 40 }, "out of range"},
		{"huge size", func(w *wireDescriptor) { w.Size = 1 << 62 }, "size 4611686018427387904"},
		{"negative shard size", func(w *wireDescriptor) { w.ShardSize = -1 }, "shard size -1"},
		{"no shards", func(w *wireDescriptor) { w.Shards = nil }, "0 shard CIDs"},
	} {
		w := wireOf(d)
		tc.mutate(w)
		_, err := DecodeDescriptor(encodeWire(t, w))
		if !errors.Is(err, ErrBadDescriptor) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrBadDescriptor containing %q", tc.name, err, tc.want)
		}
	}
}

func TestPiecesCount(t *testing.T) {
	for _, tc := range []struct {
		shardSize int64
		want      int
	}{
		{0, 1}, {1, 1}, {PieceSize, 1}, {PieceSize + 1, 2}, {2 * PieceSize, 2}, {MaxBlobSize, 1024},
		{-5, 1}, {1 << 62, 1<<31 - 1},
	} {
		d := Descriptor{ShardSize: tc.shardSize}
		if got := d.Pieces(); got != tc.want {
			t.Errorf("Pieces(%d) = %d, want %d", tc.shardSize, got, tc.want)
		}
	}
}
