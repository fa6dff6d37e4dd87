package crypto

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// StripeNonce is the public ephemeral X25519 point of one stripe, stored in
// its descriptor. Nonces are random, so the stripes of one member cannot be
// linked by holders.
type StripeNonce [32]byte

// DeleteSecret lets the owner have a stripe's shards deleted. Only the
// recovery key yields it (MemberKeys.DeleteSecret). It never leaves the
// owner: holders know only its ProofKey and check signatures made with it.
type DeleteSecret [32]byte

// ReadSecret lets the owner read a stripe's shards back. Only the recovery
// key yields it (MemberKeys.ReadSecret). It never leaves the owner: holders
// know only its ProofKey and check signatures made with it.
type ReadSecret [32]byte

// ProofKey is what a descriptor stores of a DeleteSecret or ReadSecret: the
// Ed25519 public key whose seed is the secret. A holder asks the owner to
// sign a challenge that names the holder and a fresh nonce of the holder's,
// so an answer proves the secret without teaching it to anyone: a holder
// cannot replay it to a co-holder to harvest the stripe's other shards.
type ProofKey [ed25519.PublicKeySize]byte

// StripeSecrets are the public, per-stripe facts the write side puts into a
// new stripe's descriptor.
type StripeSecrets struct {
	Nonce     StripeNonce
	DeleteKey ProofKey // DeleteSecret.ProofKey of the stripe's deletion secret
	ReadKey   ProofKey // ReadSecret.ProofKey of the stripe's read secret
}

// stripeRoot is the public point of a stripe-secret root: the write side
// holds it, the recovery key yields its scalar.
type stripeRoot [32]byte

// NewStripeSecrets draws a fresh ephemeral X25519 key e for a new stripe and
// returns Nonce = e·G and the proof keys of the stripe's deletion and read
// secrets, secret = HKDF-SHA-256(X25519(e, root), Nonce || root, label).
// e is forgotten: the write side cannot compute the secrets afterwards.
func (w *WriteKeys) NewStripeSecrets() (StripeSecrets, error) {
	e, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return StripeSecrets{}, err
	}
	return w.stripeSecrets(e)
}

func (w *WriteKeys) stripeSecrets(e *ecdh.PrivateKey) (StripeSecrets, error) {
	nonce := StripeNonce(e.PublicKey().Bytes())
	del, err := stripeSecret(e, w.deleteRoot, nonce, w.deleteRoot, labelDeleteSecret)
	if err != nil {
		return StripeSecrets{}, err
	}
	read, err := stripeSecret(e, w.readRoot, nonce, w.readRoot, labelReadSecret)
	if err != nil {
		return StripeSecrets{}, err
	}
	return StripeSecrets{Nonce: nonce, DeleteKey: DeleteSecret(del).ProofKey(), ReadKey: ReadSecret(read).ProofKey()}, nil
}

// stripeSecret is HKDF-SHA-256(IKM = X25519(scalar, point), salt = nonce ||
// root, info = label). Both sides call it: the writer with (e, root), the
// recovery-key holder with (root scalar, nonce).
func stripeSecret[P ~[32]byte](scalar *ecdh.PrivateKey, point P, nonce StripeNonce, root stripeRoot, label string) ([32]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(point[:])
	if err != nil {
		return [32]byte{}, ErrBadStripeNonce
	}
	shared, err := scalar.ECDH(pub)
	if err != nil {
		return [32]byte{}, ErrBadStripeNonce // low-order point: all-zero output
	}
	return hkdf32(shared, append(nonce[:], root[:]...), label), nil
}

// ProofKey is the Ed25519 public key whose 32-byte seed is s.
func (s DeleteSecret) ProofKey() ProofKey { return proofKey(s) }

// ProofKey is the Ed25519 public key whose 32-byte seed is s.
func (s ReadSecret) ProofKey() ProofKey { return proofKey(s) }

// Prove signs challenge as the owner of a stripe's deletion secret, in the
// domain "respaldo/v1/stripe-delete-proof". The challenge is the holder's:
// it must name the stripe, the holder and a fresh holder nonce.
func (s DeleteSecret) Prove(challenge []byte) Signature {
	k := signerKey(s)
	return sign(domainDeleteProof, &k, challenge)
}

// Prove signs challenge as the owner of a stripe's read secret, in the
// domain "respaldo/v1/stripe-read-proof".
func (s ReadSecret) Prove(challenge []byte) Signature {
	k := signerKey(s)
	return sign(domainReadProof, &k, challenge)
}

// VerifyDelete checks a deletion proof over challenge. ErrBadSignature if it
// fails.
func (k ProofKey) VerifyDelete(challenge []byte, sig Signature) error {
	return verify(domainDeleteProof, k[:], challenge, sig)
}

// VerifyRead checks a read proof over challenge. ErrBadSignature if it fails.
func (k ProofKey) VerifyRead(challenge []byte, sig Signature) error {
	return verify(domainReadProof, k[:], challenge, sig)
}

func proofKey[S ~[32]byte](s S) ProofKey {
	return ProofKey(ed25519.NewKeyFromSeed(s[:]).Public().(ed25519.PublicKey))
}

func (s DeleteSecret) String() string   { return "crypto.DeleteSecret(redacted)" }
func (s DeleteSecret) GoString() string { return s.String() }
func (s ReadSecret) String() string     { return "crypto.ReadSecret(redacted)" }
func (s ReadSecret) GoString() string   { return s.String() }

// String is lower-case hex.
func (n StripeNonce) String() string { return hex.EncodeToString(n[:]) }

// String is lower-case hex.
func (k ProofKey) String() string { return hex.EncodeToString(k[:]) }

// DeleteSecret returns the deletion secret of the stripe whose descriptor
// holds nonce. It fails only with ErrBadStripeNonce.
func (m *MemberKeys) DeleteSecret(nonce StripeNonce) (DeleteSecret, error) {
	s, err := stripeSecret(m.deleteRoot, nonce, nonce, publicRoot(m.deleteRoot), labelDeleteSecret)
	return DeleteSecret(s), err
}

// ReadSecret returns the read secret of the stripe whose descriptor holds
// nonce. It fails only with ErrBadStripeNonce.
func (m *MemberKeys) ReadSecret(nonce StripeNonce) (ReadSecret, error) {
	s, err := stripeSecret(m.readRoot, nonce, nonce, publicRoot(m.readRoot), labelReadSecret)
	return ReadSecret(s), err
}

func publicRoot(k *ecdh.PrivateKey) stripeRoot { return stripeRoot(k.PublicKey().Bytes()) }

// check rejects a low-order point, with which X25519 gives all zeros.
func (r stripeRoot) check() error {
	one := [32]byte{1}
	k, _ := ecdh.X25519().NewPrivateKey(one[:])
	if _, err := stripeSecret(k, r, StripeNonce{}, r, labelDeleteSecret); err != nil {
		return fmt.Errorf("%w (a stripe root is a low-order point)", ErrWriteKeysFormat)
	}
	return nil
}
