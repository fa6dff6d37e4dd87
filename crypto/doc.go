// Package crypto owns every key of a respaldo member and the few operations
// that use them: the recovery key and its human encoding, the HKDF derivation
// of all member keys from it, streaming age encryption of blobs, keyed chunk
// IDs, per-stripe deletion and read secrets, and the signing of heads.
//
// # Key sets
//
// A member owns one [RecoveryKey]. Everything derives from it, deterministically
// and forever (see docs/keys.md for the labels; testdata/vectors.json freezes
// them):
//
//	RecoveryKey ─▶ MemberKeys (everything; only while the recovery key is at hand)
//	            ─▶ WriteKeys  (per device; what a member's node keeps on disk)
//
// [WriteKeys] holds only what writing a backup needs: the age recipient, the
// chunk-ID and chunker keys, the device's head-signing key, the member's public
// verification key and the public points of the stripe-secret roots. Nothing
// in it yields the age identity, the member signing key or the stripe-secret
// roots, so a seized laptop can add backups but cannot read or prune old ones.
//
// # Secrets are not printed
//
// Every type that holds a secret has String and GoString methods that print
// a redacted form, so a secret cannot leak into a log through fmt. The one
// deliberate way to show a secret is [RecoveryKey.Reveal].
//
// # Errors
//
// Errors are sentinels ([ErrRecoveryKeyTypo], [ErrRecoveryKeyFormat],
// [ErrWrongKey], [ErrTampered], [ErrBadSignature], [ErrBadStripeNonce],
// [ErrDeviceName], [ErrWriteKeysFormat]) or wrap one of them; test with
// errors.Is. Their messages are one line, fit to show to a user.
//
// This package imports nothing of respaldo's; it is pure apart from reading
// crypto/rand.
package crypto
