package erasure

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/fxamacker/cbor/v2"
	"github.com/ipfs/go-cid"
)

// MaxDescriptorSize bounds an encoded descriptor. The largest valid one
// (k+m=256) takes about 10.4 KiB; DecodeDescriptor rejects longer input
// before parsing, and readers of length-prefixed records may use it too.
const MaxDescriptorSize = 32 << 10

// wireDescriptor is the encoding: a CBOR map with small unsigned integer keys,
// every key present, deterministic ("core deterministic", RFC 8949 §4.2.1):
// shortest integers, definite lengths, keys in ascending order. See
// docs/format-erasure.md. Integers are signed here only so that Marshal is
// total; a valid descriptor has none negative.
type wireDescriptor struct {
	Version   int64    `cbor:"0,keyasint"`
	K         int64    `cbor:"1,keyasint"`
	M         int64    `cbor:"2,keyasint"`
	Size      int64    `cbor:"3,keyasint"`
	ShardSize int64    `cbor:"4,keyasint"`
	Shards    [][]byte `cbor:"5,keyasint"` // binary shard CIDs, 39 bytes each
	Nonce     []byte   `cbor:"6,keyasint"` // 32 bytes
	DeleteKey []byte   `cbor:"7,keyasint"` // 32 bytes
	ReadKey   []byte   `cbor:"8,keyasint"` // 32 bytes
}

// wireVersion reads only the version key, so that a descriptor of another
// version is refused by its version rather than by its first unknown key.
type wireVersion struct {
	Version int64 `cbor:"0,keyasint"`
}

var (
	encMode = mustEncMode()
	decMode = mustDecMode(cbor.ExtraDecErrorUnknownField)
	// verMode reads a descriptor of another version just far enough to
	// name its version: as strict, but unknown keys are skipped.
	verMode = mustDecMode(cbor.ExtraDecErrorNone)
)

func mustEncMode() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // static options
	}
	return em
}

func mustDecMode(extra cbor.ExtraDecErrorCond) cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: extra,
		MaxNestedLevels:   4,
		MaxArrayElements:  4 * MaxShards,
		MaxMapPairs:       16,
	}.DecMode()
	if err != nil {
		panic(err) // static options
	}
	return dm
}

func sum256(b []byte) [32]byte { return sha256.Sum256(b) }

// Marshal returns the canonical encoding of d, whose SHA-256 is the stripe
// ID. It is deterministic and total: any Descriptor encodes, valid or not
// (DecodeDescriptor accepts only valid ones). The result is newly allocated.
func (d *Descriptor) Marshal() []byte {
	w := wireDescriptor{
		Version:   int64(d.Version),
		K:         int64(d.K),
		M:         int64(d.M),
		Size:      d.Size,
		ShardSize: d.ShardSize,
		Shards:    make([][]byte, len(d.Shards)),
		Nonce:     d.Secrets.Nonce[:],
		DeleteKey: d.Secrets.DeleteKey[:],
		ReadKey:   d.Secrets.ReadKey[:],
	}
	for i, c := range d.Shards {
		w.Shards[i] = []byte(c.KeyString())
	}
	b, err := encMode.Marshal(&w)
	if err != nil {
		panic("erasure: encoding a descriptor cannot fail: " + err.Error())
	}
	return b
}

// DecodeDescriptor parses a descriptor from outside input, strictly: at most
// MaxDescriptorSize bytes, one CBOR map with exactly the known keys, no
// duplicates, no tags, no indefinite lengths, no trailing bytes, and the
// canonical encoding only (b must equal the re-encoding, so one descriptor
// has one byte form and one stripe ID); then Validate. Errors wrap
// ErrBadDescriptor. The result does not alias b.
func DecodeDescriptor(b []byte) (*Descriptor, error) {
	if len(b) > MaxDescriptorSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadDescriptor, len(b), MaxDescriptorSize)
	}
	if len(b) == 0 || b[0]>>5 != 5 { // major type 5: map
		return nil, fmt.Errorf("%w: not a CBOR map", ErrBadDescriptor)
	}
	var w wireDescriptor
	if err := decMode.Unmarshal(b, &w); err != nil {
		var uf *cbor.UnknownFieldError
		var v wireVersion
		if errors.As(err, &uf) && verMode.Unmarshal(b, &v) == nil && v.Version != Version {
			return nil, fmt.Errorf("%w: version %d (this program reads version %d)", ErrBadDescriptor, v.Version, Version)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: truncated CBOR", ErrBadDescriptor)
		}
		return nil, fmt.Errorf("%w: %v", ErrBadDescriptor, err)
	}
	d, err := w.descriptor()
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrBadDescriptor, err)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if !bytes.Equal(d.Marshal(), b) {
		return nil, fmt.Errorf("%w: not in canonical encoding (a field is missing, or integers, lengths or key order are not in their shortest, sorted form)", ErrBadDescriptor)
	}
	return d, nil
}

// OpenDescriptor decodes b (DecodeDescriptor) after checking that it hashes
// to want, the stripe ID under which it was found. A mismatch wraps
// ErrStripeIDMismatch.
func OpenDescriptor(b []byte, want StripeID) (*Descriptor, error) {
	if got := StripeID(sum256(b)); got != want {
		return nil, fmt.Errorf("%w: got %s, want %s", ErrStripeIDMismatch, got, want)
	}
	return DecodeDescriptor(b)
}

// descriptor converts the wire form, checking byte-string lengths and CIDs.
func (w *wireDescriptor) descriptor() (*Descriptor, error) {
	for _, v := range []int64{w.Version, w.K, w.M} {
		if v < 0 || v > 1<<20 {
			return nil, fmt.Errorf("version %d, k=%d or m=%d out of range", w.Version, w.K, w.M)
		}
	}
	d := &Descriptor{
		Version:   int(w.Version),
		K:         int(w.K),
		M:         int(w.M),
		Size:      w.Size,
		ShardSize: w.ShardSize,
		Shards:    make([]cid.Cid, len(w.Shards)),
	}
	for i, b := range w.Shards {
		if len(b) != cidLen || string(b[:len(cidPrefix)]) != cidPrefix {
			return nil, fmt.Errorf("shard %d: CID %x is not a shard CID (CIDv1, raw, merkle-sha2-256)", i, b)
		}
		c, err := cid.Cast(b)
		if err != nil {
			return nil, fmt.Errorf("shard %d: %v", i, err)
		}
		d.Shards[i] = c
	}
	for _, f := range []struct {
		name string
		src  []byte
		dst  *[32]byte
	}{
		{"nonce", w.Nonce, &d.Secrets.Nonce},
		{"deletion hash", w.DeleteKey, &d.Secrets.DeleteKey},
		{"read hash", w.ReadKey, &d.Secrets.ReadKey},
	} {
		if len(f.src) != 32 {
			return nil, fmt.Errorf("%s has %d bytes, want 32", f.name, len(f.src))
		}
		*f.dst = [32]byte(f.src)
	}
	return d, nil
}
