package crypto

import (
	"fmt"

	"filippo.io/age"
	"github.com/fxamacker/cbor/v2"
)

// WriteKeys is what a member's node keeps: everything needed to write new
// backups of one device, nothing that reads, lists or prunes old ones. It
// holds no secret from which the age identity, the member signing key or the
// stripe-secret roots can be computed (docs/keys.md, "A seized laptop").
// Safe for concurrent use; it never changes after creation.
type WriteKeys struct {
	device     string
	recipient  *age.HybridRecipient
	chunkID    ChunkIDKey
	chunker    ChunkerKey
	head       HeadSigner
	member     MemberVerifier
	deleteRoot stripeRoot
	readRoot   stripeRoot
}

// Device is the name of the device these keys belong to.
func (w *WriteKeys) Device() string { return w.device }

// Recipient is the member's age recipient: encrypt every blob to it.
func (w *WriteKeys) Recipient() *age.HybridRecipient { return w.recipient }

// ChunkIDKey is the member's chunk-ID key.
func (w *WriteKeys) ChunkIDKey() ChunkIDKey { return w.chunkID }

// ChunkerKey is the member's chunker key.
func (w *WriteKeys) ChunkerKey() ChunkerKey { return w.chunker }

// HeadSigner signs this device's heads.
func (w *WriteKeys) HeadSigner() HeadSigner { return w.head }

// HeadVerifier is the public half of HeadSigner.
func (w *WriteKeys) HeadVerifier() HeadVerifier { return w.head.Verifier() }

// MemberVerifier verifies member-level records (e.g. the device list).
func (w *WriteKeys) MemberVerifier() MemberVerifier { return w.member }

// MemberID is the member's public ID, the same on every device.
func (w *WriteKeys) MemberID() MemberID { return w.member.ID() }

func (w *WriteKeys) String() string {
	return fmt.Sprintf("crypto.WriteKeys(member %s, device %q)", w.MemberID(), w.device)
}
func (w *WriteKeys) GoString() string { return w.String() }

// writeKeysV1 is the stored form: deterministic CBOR (RFC 8949 core
// deterministic encoding), integer keys, version first.
type writeKeysV1 struct {
	Version    uint   `cbor:"1,keyasint"` // 1
	Device     string `cbor:"2,keyasint"`
	Recipient  string `cbor:"3,keyasint"` // "age1pq1…"
	ChunkIDKey []byte `cbor:"4,keyasint"`
	ChunkerKey []byte `cbor:"5,keyasint"`
	HeadSeed   []byte `cbor:"6,keyasint"` // Ed25519 seed of the device's head signer
	Member     []byte `cbor:"7,keyasint"` // MemberVerifier
	DeleteRoot []byte `cbor:"8,keyasint"` // X25519 public point
	ReadRoot   []byte `cbor:"9,keyasint"` // X25519 public point
}

var (
	cborEnc = mustEnc(cbor.CoreDetEncOptions().EncMode())
	cborDec = mustDec(cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		MaxNestedLevels:   4,
	}.DecMode())
)

func mustEnc(m cbor.EncMode, err error) cbor.EncMode {
	if err != nil {
		panic(err)
	}
	return m
}

func mustDec(m cbor.DecMode, err error) cbor.DecMode {
	if err != nil {
		panic(err)
	}
	return m
}

// MarshalBinary returns the stored form of w (versioned, deterministic
// CBOR). It holds secrets (the chunk-ID, chunker and head-signing keys):
// store it readable by the owner only.
func (w *WriteKeys) MarshalBinary() ([]byte, error) {
	return cborEnc.Marshal(writeKeysV1{
		Version:    1,
		Device:     w.device,
		Recipient:  w.recipient.String(),
		ChunkIDKey: w.chunkID[:],
		ChunkerKey: w.chunker[:],
		HeadSeed:   w.head.key[:32],
		Member:     w.member[:],
		DeleteRoot: w.deleteRoot[:],
		ReadRoot:   w.readRoot[:],
	})
}

// ParseWriteKeys reads the form written by MarshalBinary. Every error wraps
// ErrWriteKeysFormat.
func ParseWriteKeys(b []byte) (*WriteKeys, error) {
	var v writeKeysV1
	if err := cborDec.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWriteKeysFormat, err)
	}
	if v.Version != 1 {
		return nil, fmt.Errorf("%w: version %d", ErrWriteKeysFormat, v.Version)
	}
	for _, f := range [][]byte{v.ChunkIDKey, v.ChunkerKey, v.HeadSeed, v.Member, v.DeleteRoot, v.ReadRoot} {
		if len(f) != 32 {
			return nil, fmt.Errorf("%w: a key is %d bytes, not 32", ErrWriteKeysFormat, len(f))
		}
	}
	if err := checkDevice(v.Device); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWriteKeysFormat, err)
	}
	r, err := age.ParseHybridRecipient(v.Recipient)
	if err != nil {
		return nil, fmt.Errorf("%w: the age recipient is malformed", ErrWriteKeysFormat)
	}
	w := &WriteKeys{
		device:     v.Device,
		recipient:  r,
		chunkID:    ChunkIDKey(v.ChunkIDKey),
		chunker:    ChunkerKey(v.ChunkerKey),
		head:       HeadSigner{signerKey([32]byte(v.HeadSeed))},
		member:     MemberVerifier(v.Member),
		deleteRoot: stripeRoot(v.DeleteRoot),
		readRoot:   stripeRoot(v.ReadRoot),
	}
	if err := w.deleteRoot.check(); err != nil {
		return nil, err
	}
	if err := w.readRoot.check(); err != nil {
		return nil, err
	}
	return w, nil
}
