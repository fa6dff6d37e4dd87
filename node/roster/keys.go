package roster

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

// OperatorKey is an operator's Ed25519 signing key: whoever holds it may
// admit and revoke nodes and change the operator set. Keep it off machines
// that need not sign. Its String and GoString are redacted; Seed is the one
// way to get the secret out (to store it). The zero value signs nothing:
// it is never an operator.
type OperatorKey struct{ key [ed25519.PrivateKeySize]byte }

// OperatorPub is the public half of an OperatorKey, as entries name their
// signer. String is lower-case hex (ParseOperatorPub reads it back);
// Fingerprint is a short form for display.
type OperatorPub [ed25519.PublicKeySize]byte

// Signature is an Ed25519 signature of an entry.
type Signature [ed25519.SignatureSize]byte

// GenerateOperatorKey makes a new operator key from rand (crypto/rand.Reader
// in production).
func GenerateOperatorKey(rand io.Reader) (OperatorKey, error) {
	var seed [ed25519.SeedSize]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return OperatorKey{}, fmt.Errorf("roster: generating operator key: %w", err)
	}
	return OperatorKeyFromSeed(seed), nil
}

// OperatorKeyFromSeed returns the operator key of a 32-byte Ed25519 seed
// (as stored by Seed).
func OperatorKeyFromSeed(seed [ed25519.SeedSize]byte) OperatorKey {
	return OperatorKey{key: [ed25519.PrivateKeySize]byte(ed25519.NewKeyFromSeed(seed[:]))}
}

// Seed returns the secret seed of k, for storing it (mode 0600, never a log).
func (k OperatorKey) Seed() [ed25519.SeedSize]byte { return [ed25519.SeedSize]byte(k.key[:32]) }

// Public returns the public half of k.
func (k OperatorKey) Public() OperatorPub { return OperatorPub(k.key[32:]) }

func (k OperatorKey) isZero() bool { return k.key == [ed25519.PrivateKeySize]byte{} }

func (k OperatorKey) String() string {
	if k.isZero() {
		return "roster.OperatorKey(zero)"
	}
	return "roster.OperatorKey(" + k.Public().Fingerprint() + ", redacted)"
}

func (k OperatorKey) GoString() string { return k.String() }

func (p OperatorPub) String() string { return hex.EncodeToString(p[:]) }

// Fingerprint is the first 8 bytes of SHA-256 of the public key, in hex (16
// characters): what `respaldo roster` shows as signed_by.
func (p OperatorPub) Fingerprint() string {
	h := sha256.Sum256(p[:])
	return hex.EncodeToString(h[:8])
}

// ParseOperatorPub reads OperatorPub.String (64 hex characters).
func ParseOperatorPub(s string) (OperatorPub, error) {
	var p OperatorPub
	if len(s) != 2*len(p) {
		return p, fmt.Errorf("roster: operator public key must be %d hex characters", 2*len(p))
	}
	if _, err := hex.Decode(p[:], []byte(s)); err != nil {
		return OperatorPub{}, fmt.Errorf("roster: operator public key is not hex")
	}
	return p, nil
}

// domain separates roster signatures from every other signature of
// respaldo: the signed message is domain || 0x00 || canonical bytes.
const domain = "respaldo/v1/roster"

func signedMessage(b []byte) []byte {
	m := make([]byte, 0, len(domain)+1+len(b))
	return append(append(append(m, domain...), 0), b...)
}

func (k OperatorKey) sign(b []byte) Signature {
	return Signature(ed25519.Sign(k.key[:], signedMessage(b)))
}

func (p OperatorPub) verify(b []byte, sig Signature) bool {
	return ed25519.Verify(p[:], signedMessage(b), sig[:])
}
