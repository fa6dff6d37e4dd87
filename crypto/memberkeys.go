package crypto

import (
	"crypto/ecdh"

	"filippo.io/age"
)

// MemberKeys is every key of a member, derived from the recovery key. It
// exists only while the recovery key is at hand (restore, listing, pruning,
// setting up a device); a member's node keeps WriteKeys instead.
// Safe for concurrent use; it never changes after creation.
type MemberKeys struct {
	rk         RecoveryKey
	identity   *age.HybridIdentity
	chunkID    ChunkIDKey
	chunker    ChunkerKey
	member     MemberSigner
	deleteRoot *ecdh.PrivateKey
	readRoot   *ecdh.PrivateKey
}

func newMemberKeys(k RecoveryKey) *MemberKeys {
	seed := k.derive(labelAgeIdentity)
	id, err := age.ParseHybridIdentity(bech32Encode("AGE-SECRET-KEY-PQ-", seed[:]))
	if err != nil {
		panic("crypto: deriving the age identity: " + err.Error()) // any 32-byte seed is valid
	}
	return &MemberKeys{
		rk:         k,
		identity:   id,
		chunkID:    ChunkIDKey(k.derive(labelChunkIDKey)),
		chunker:    ChunkerKey(k.derive(labelChunkerKey)),
		member:     MemberSigner{signerKey(k.derive(labelMemberSigning))},
		deleteRoot: x25519Key(k.derive(labelDeleteRoot)),
		readRoot:   x25519Key(k.derive(labelReadRoot)),
	}
}

func x25519Key(b [32]byte) *ecdh.PrivateKey {
	k, err := ecdh.X25519().NewPrivateKey(b[:])
	if err != nil {
		panic("crypto: x25519: " + err.Error()) // any 32 bytes are a valid scalar
	}
	return k
}

// Identity is the member's age identity (ML-KEM-768 + X25519 hybrid): it
// opens every blob of the member.
func (m *MemberKeys) Identity() *age.HybridIdentity { return m.identity }

// Recipient is the member's age recipient ("age1pq1…").
func (m *MemberKeys) Recipient() *age.HybridRecipient { return m.identity.Recipient() }

// ChunkIDKey is the member's chunk-ID key.
func (m *MemberKeys) ChunkIDKey() ChunkIDKey { return m.chunkID }

// ChunkerKey is the member's chunker key.
func (m *MemberKeys) ChunkerKey() ChunkerKey { return m.chunker }

// MemberSigner signs member-level records (e.g. the device list).
func (m *MemberKeys) MemberSigner() MemberSigner { return m.member }

// MemberVerifier is the public half of MemberSigner.
func (m *MemberKeys) MemberVerifier() MemberVerifier { return m.member.Verifier() }

// MemberID is the member's public ID.
func (m *MemberKeys) MemberID() MemberID { return m.member.Verifier().ID() }

// HeadVerifier returns the head-verification key of the named device, for
// checking that device's heads on restore. It fails only with ErrDeviceName.
func (m *MemberKeys) HeadVerifier(device string) (HeadVerifier, error) {
	s, err := m.headSigner(device)
	return s.Verifier(), err
}

func (m *MemberKeys) headSigner(device string) (HeadSigner, error) {
	if err := checkDevice(device); err != nil {
		return HeadSigner{}, err
	}
	return HeadSigner{signerKey(m.rk.derive(labelHeadSigning + "\x00" + device))}, nil
}

// Write returns the write-side keys of the named device. It fails only with
// ErrDeviceName.
func (m *MemberKeys) Write(device string) (*WriteKeys, error) {
	head, err := m.headSigner(device)
	if err != nil {
		return nil, err
	}
	return &WriteKeys{
		device:     device,
		recipient:  m.Recipient(),
		chunkID:    m.chunkID,
		chunker:    m.chunker,
		head:       head,
		member:     m.MemberVerifier(),
		deleteRoot: publicRoot(m.deleteRoot),
		readRoot:   publicRoot(m.readRoot),
	}, nil
}

func (m *MemberKeys) String() string {
	return "crypto.MemberKeys(member " + m.MemberID().String() + ")"
}
func (m *MemberKeys) GoString() string { return m.String() }
