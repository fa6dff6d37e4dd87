package crypto

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
)

// Signature is an Ed25519 signature made by a HeadSigner or a MemberSigner.
type Signature [ed25519.SignatureSize]byte

// HeadSigner signs the heads of one device of a member (write side). Its
// messages are domain-separated: what it signs is "respaldo/v1/head" || 0x00
// || msg, so a head signature can never pass as any other signature.
// The zero value is not usable.
type HeadSigner struct{ key [ed25519.PrivateKeySize]byte }

// HeadVerifier is the public half of a HeadSigner. Its String (lower-case
// hex of the 32-byte Ed25519 public key) and its bytes are stable forms.
type HeadVerifier [ed25519.PublicKeySize]byte

// MemberSigner signs member-level records, such as the list of the member's
// devices and their head verifiers. Only the recovery key yields it; a
// member's node does not hold it. Domain: "respaldo/v1/member".
type MemberSigner struct{ key [ed25519.PrivateKeySize]byte }

// MemberVerifier is the public half of a MemberSigner; the write side holds it.
type MemberVerifier [ed25519.PublicKeySize]byte

// MemberID names a member publicly (e.g. the DHT key of its records):
// SHA-256("respaldo/v1/member-id" || 0x00 || MemberVerifier). It reveals no
// key and is the same on every device of the member.
type MemberID [32]byte

func signerKey(seed [32]byte) [ed25519.PrivateKeySize]byte {
	return [ed25519.PrivateKeySize]byte(ed25519.NewKeyFromSeed(seed[:]))
}

func sign(domain string, key *[ed25519.PrivateKeySize]byte, msg []byte) Signature {
	if *key == ([ed25519.PrivateKeySize]byte{}) {
		panic("crypto: Sign with a zero signer")
	}
	return Signature(ed25519.Sign(key[:], domainMessage(domain, msg)))
}

func verify(domain string, pub []byte, msg []byte, sig Signature) error {
	if !ed25519.Verify(pub, domainMessage(domain, msg), sig[:]) {
		return ErrBadSignature
	}
	return nil
}

func domainMessage(domain string, msg []byte) []byte {
	m := make([]byte, 0, len(domain)+1+len(msg))
	return append(append(append(m, domain...), 0), msg...)
}

// Sign signs msg as a head of this device. Safe for concurrent use.
func (s HeadSigner) Sign(msg []byte) Signature { return sign(domainHead, &s.key, msg) }

// Verifier returns the public half of s.
func (s HeadSigner) Verifier() HeadVerifier { return HeadVerifier(s.key[32:]) }

func (s HeadSigner) String() string   { return "crypto.HeadSigner(" + s.Verifier().String() + ")" }
func (s HeadSigner) GoString() string { return s.String() }

// Verify returns nil when sig is the device's signature of msg as a head,
// ErrBadSignature otherwise.
func (v HeadVerifier) Verify(msg []byte, sig Signature) error {
	return verify(domainHead, v[:], msg, sig)
}

// String is the lower-case hex of the public key; ParseHeadVerifier reads it.
func (v HeadVerifier) String() string { return hex.EncodeToString(v[:]) }

// ParseHeadVerifier reads HeadVerifier.String.
func ParseHeadVerifier(s string) (HeadVerifier, error) {
	b, err := parseHex32(s)
	if err != nil {
		return HeadVerifier{}, fmt.Errorf("crypto: head verifier: %w", err)
	}
	return HeadVerifier(b), nil
}

// Sign signs msg as a member-level record. Safe for concurrent use.
func (s MemberSigner) Sign(msg []byte) Signature { return sign(domainMember, &s.key, msg) }

// Verifier returns the public half of s.
func (s MemberSigner) Verifier() MemberVerifier { return MemberVerifier(s.key[32:]) }

func (s MemberSigner) String() string   { return "crypto.MemberSigner(" + s.Verifier().String() + ")" }
func (s MemberSigner) GoString() string { return s.String() }

// Verify returns nil when sig is the member's signature of msg,
// ErrBadSignature otherwise.
func (v MemberVerifier) Verify(msg []byte, sig Signature) error {
	return verify(domainMember, v[:], msg, sig)
}

// ID returns the member ID of the member whose verifier v is.
func (v MemberVerifier) ID() MemberID { return MemberID(hashLabel(labelMemberID, v[:])) }

// String is the lower-case hex of the public key; ParseMemberVerifier reads it.
func (v MemberVerifier) String() string { return hex.EncodeToString(v[:]) }

// ParseMemberVerifier reads MemberVerifier.String.
func ParseMemberVerifier(s string) (MemberVerifier, error) {
	b, err := parseHex32(s)
	if err != nil {
		return MemberVerifier{}, fmt.Errorf("crypto: member verifier: %w", err)
	}
	return MemberVerifier(b), nil
}

// String is the lower-case hex of the ID; ParseMemberID reads it.
func (id MemberID) String() string { return hex.EncodeToString(id[:]) }

// ParseMemberID reads MemberID.String.
func ParseMemberID(s string) (MemberID, error) {
	b, err := parseHex32(s)
	if err != nil {
		return MemberID{}, fmt.Errorf("crypto: member ID: %w", err)
	}
	return MemberID(b), nil
}
