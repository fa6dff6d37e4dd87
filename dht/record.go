package dht

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/fxamacker/cbor/v2"

	"respaldo/crypto"
)

// Namespace is the record namespace of respaldo in the DHT: every key is
// "/respaldo/…" and only the head validator accepts records there.
const Namespace = "respaldo"

// MaxHeadPayload bounds the encrypted head a record carries. An age blob of
// a head with the hybrid post-quantum recipient is about 1.8 KiB.
const MaxHeadPayload = 8 << 10

// maxHeadRecord bounds a whole encoded record: payload plus the fixed
// fields (verifier, seq, signature, map and length headers).
const maxHeadRecord = MaxHeadPayload + 160

const headRecordVersion = 1

// HeadKey is the DHT key of one device's head:
// "/respaldo/" + lower-case hex of SHA-256(head verifier). The key binds to
// the verifier, so nobody but the device's signer can fill it.
type HeadKey string

// KeyFor returns the head key of the device whose verifier is v.
func KeyFor(v crypto.HeadVerifier) HeadKey {
	sum := sha256.Sum256(v[:])
	return HeadKey("/" + Namespace + "/" + hex.EncodeToString(sum[:]))
}

// ParseHeadKey checks that s has the form of a head key.
func ParseHeadKey(s string) (HeadKey, error) {
	h, ok := strings.CutPrefix(s, "/"+Namespace+"/")
	if !ok || len(h) != 2*sha256.Size || strings.ToLower(h) != h {
		return "", fmt.Errorf("%w: key %q is not /%s/<64 hex>", ErrBadRecord, s, Namespace)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", fmt.Errorf("%w: key %q: %v", ErrBadRecord, s, err)
	}
	return HeadKey(s), nil
}

// HeadRecord is one device's signed head as the DHT keeps it. Payload is
// the encrypted head (opaque here); Seq grows with every new head of the
// device and the highest wins. Sig is the device's HeadSigner signature
// (domain "respaldo/v1/head") of the record's encoding without field 5.
//
// Wire form, deterministic (core) CBOR, nothing else accepted:
//
//	{1: version 1, 2: verifier (32-byte bstr), 3: seq (uint),
//	 4: payload (1..MaxHeadPayload-byte bstr), 5: signature (64-byte bstr)}
type HeadRecord struct {
	Verifier crypto.HeadVerifier
	Seq      uint64
	Payload  []byte
	Sig      crypto.Signature
}

type headWire struct {
	V        uint64 `cbor:"1,keyasint"`
	Verifier []byte `cbor:"2,keyasint"`
	Seq      uint64 `cbor:"3,keyasint"`
	Payload  []byte `cbor:"4,keyasint"`
	Sig      []byte `cbor:"5,keyasint,omitempty"`
}

var (
	encMode = must(cbor.CoreDetEncOptions().EncMode())
	decMode = must(cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   4,
		MaxMapPairs:       16,
		MaxArrayElements:  16,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	}.DecMode())
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// SignHead makes the record of a new head of the device that s signs for.
// payload is copied.
func SignHead(s crypto.HeadSigner, seq uint64, payload []byte) (HeadRecord, error) {
	r := HeadRecord{Verifier: s.Verifier(), Seq: seq, Payload: bytes.Clone(payload)}
	if err := r.checkPayload(); err != nil {
		return HeadRecord{}, err
	}
	msg, err := r.signed()
	if err != nil {
		return HeadRecord{}, err
	}
	r.Sig = s.Sign(msg)
	return r, nil
}

// Key returns the DHT key the record belongs under.
func (r HeadRecord) Key() HeadKey { return KeyFor(r.Verifier) }

// Verify checks the signature (wrapping crypto.ErrBadSignature) and sizes.
func (r HeadRecord) Verify() error {
	if err := r.checkPayload(); err != nil {
		return err
	}
	msg, err := r.signed()
	if err != nil {
		return err
	}
	if err := r.Verifier.Verify(msg, r.Sig); err != nil {
		return fmt.Errorf("dht: head record seq %d: %w", r.Seq, err)
	}
	return nil
}

// Marshal returns the wire form. It does not sign or verify.
func (r HeadRecord) Marshal() ([]byte, error) {
	if err := r.checkPayload(); err != nil {
		return nil, err
	}
	return encMode.Marshal(r.wire(true))
}

// DecodeHeadRecord parses the wire form strictly: anything but the one
// canonical encoding is ErrBadRecord. It does not verify the signature.
func DecodeHeadRecord(b []byte) (HeadRecord, error) {
	if len(b) > maxHeadRecord {
		return HeadRecord{}, fmt.Errorf("%w: %d bytes", ErrBadRecord, len(b))
	}
	var w headWire
	if err := decMode.Unmarshal(b, &w); err != nil {
		return HeadRecord{}, fmt.Errorf("%w: %v", ErrBadRecord, err)
	}
	if w.V != headRecordVersion {
		return HeadRecord{}, fmt.Errorf("%w: version %d", ErrBadRecord, w.V)
	}
	if len(w.Verifier) != len(crypto.HeadVerifier{}) || len(w.Sig) != len(crypto.Signature{}) {
		return HeadRecord{}, fmt.Errorf("%w: verifier or signature size", ErrBadRecord)
	}
	r := HeadRecord{Verifier: crypto.HeadVerifier(w.Verifier), Seq: w.Seq, Payload: w.Payload, Sig: crypto.Signature(w.Sig)}
	if err := r.checkPayload(); err != nil {
		return HeadRecord{}, err
	}
	if again, err := encMode.Marshal(r.wire(true)); err != nil || !bytes.Equal(again, b) {
		return HeadRecord{}, fmt.Errorf("%w: not the canonical encoding", ErrBadRecord)
	}
	return r, nil
}

func (r HeadRecord) checkPayload() error {
	if len(r.Payload) == 0 || len(r.Payload) > MaxHeadPayload {
		return fmt.Errorf("%w: payload of %d bytes (want 1..%d)", ErrBadRecord, len(r.Payload), MaxHeadPayload)
	}
	return nil
}

func (r HeadRecord) wire(withSig bool) headWire {
	w := headWire{V: headRecordVersion, Verifier: r.Verifier[:], Seq: r.Seq, Payload: r.Payload}
	if withSig {
		w.Sig = r.Sig[:]
	}
	return w
}

// signed is what the signature covers: the encoding of fields 1 to 4.
func (r HeadRecord) signed() ([]byte, error) { return encMode.Marshal(r.wire(false)) }
