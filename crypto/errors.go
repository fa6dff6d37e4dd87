package crypto

import "errors"

// Sentinel errors. Each is one line, meant for the user; errors returned by
// this package are these or wrap them (test with errors.Is).
var (
	// ErrRecoveryKeyTypo: the input has the shape of a recovery key but a
	// check fails, so the human mistyped it. The returned error is a
	// *TypoError that names the group(s) to look at.
	ErrRecoveryKeyTypo = errors.New("recovery key: typo")

	// ErrRecoveryKeyFormat: the input is not a recovery key at all (wrong
	// length, unknown version, not the rk1- encoding).
	ErrRecoveryKeyFormat = errors.New("recovery key: not a recovery key")

	// ErrWrongKey: the ciphertext was not encrypted to the given identity.
	// (A corrupted recipient stanza in the age header cannot be told apart
	// from a wrong key and also yields ErrWrongKey.)
	ErrWrongKey = errors.New("crypto: wrong key: this blob was not encrypted to this member")

	// ErrTampered: authentication failed: the ciphertext was modified,
	// truncated, extended, or is not an age file.
	ErrTampered = errors.New("crypto: blob is corrupted, tampered with or truncated")

	// ErrBadSignature: a head or member signature does not verify.
	ErrBadSignature = errors.New("crypto: bad signature")

	// ErrBadStripeNonce: a stripe nonce is a low-order X25519 point, which no
	// honest writer produces.
	ErrBadStripeNonce = errors.New("crypto: stripe nonce is not a usable X25519 point")

	// ErrDeviceName: a device name is empty, longer than 64 bytes, not UTF-8
	// or holds control characters.
	ErrDeviceName = errors.New("crypto: device name must be 1 to 64 bytes of printable UTF-8")

	// ErrWriteKeysFormat: stored write keys do not decode (corrupt file or
	// unknown version).
	ErrWriteKeysFormat = errors.New("crypto: stored write keys are corrupt or of an unknown version")
)
