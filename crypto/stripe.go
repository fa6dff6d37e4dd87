package crypto

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// StripeNonce is the public ephemeral X25519 point of one stripe, stored in
// its descriptor. Nonces are random, so the stripes of one member cannot be
// linked by holders.
type StripeNonce [32]byte

// DeleteSecret lets the owner have a stripe's shards deleted. Only the
// recovery key yields it (MemberKeys.DeleteSecret); holders know its Hash.
type DeleteSecret [32]byte

// ReadSecret lets the owner read a stripe's shards back. Only the recovery
// key yields it (MemberKeys.ReadSecret); holders know its Hash.
type ReadSecret [32]byte

// SecretHash is what a descriptor stores of a DeleteSecret or ReadSecret and
// what a holder compares a presented secret against.
type SecretHash [32]byte

// StripeSecrets are the public, per-stripe facts the write side puts into a
// new stripe's descriptor.
type StripeSecrets struct {
	Nonce      StripeNonce
	DeleteHash SecretHash // DeleteSecret.Hash of the stripe's deletion secret
	ReadHash   SecretHash // ReadSecret.Hash of the stripe's read secret
}

// stripeRoot is the public point of a stripe-secret root: the write side
// holds it, the recovery key yields its scalar.
type stripeRoot [32]byte

// NewStripeSecrets draws a fresh ephemeral X25519 key e for a new stripe and
// returns Nonce = e·G and the hashes of the stripe's deletion and read
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
	return StripeSecrets{Nonce: nonce, DeleteHash: DeleteSecret(del).Hash(), ReadHash: ReadSecret(read).Hash()}, nil
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

// Hash is SHA-256("respaldo/v1/stripe-delete-hash" || 0x00 || s).
func (s DeleteSecret) Hash() SecretHash { return SecretHash(hashLabel(labelDeleteHash, s[:])) }

// Hash is SHA-256("respaldo/v1/stripe-read-hash" || 0x00 || s).
func (s ReadSecret) Hash() SecretHash { return SecretHash(hashLabel(labelReadHash, s[:])) }

func (s DeleteSecret) String() string   { return "crypto.DeleteSecret(redacted)" }
func (s DeleteSecret) GoString() string { return s.String() }
func (s ReadSecret) String() string     { return "crypto.ReadSecret(redacted)" }
func (s ReadSecret) GoString() string   { return s.String() }

// String is lower-case hex.
func (n StripeNonce) String() string { return hex.EncodeToString(n[:]) }

// String is lower-case hex.
func (h SecretHash) String() string { return hex.EncodeToString(h[:]) }

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
