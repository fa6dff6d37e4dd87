package crypto

import (
	"crypto/hkdf"
	"crypto/sha256"
	"unicode"
	"unicode/utf8"
)

// Derivation labels (HKDF-SHA-256 info strings) and hash domains. They are
// frozen by testdata/vectors.json and listed in docs/keys.md: changing one
// makes every existing backup unreadable. A new scheme gets new "v2" labels.
const (
	labelAgeIdentity   = "respaldo/v1/age-identity"
	labelChunkIDKey    = "respaldo/v1/chunk-id-key"
	labelChunkerKey    = "respaldo/v1/chunker-key"
	labelMemberSigning = "respaldo/v1/member-signing"
	labelHeadSigning   = "respaldo/v1/head-signing" // + 0x00 + device name
	labelDeleteRoot    = "respaldo/v1/delete-root"
	labelReadRoot      = "respaldo/v1/read-root"
	labelDeleteSecret  = "respaldo/v1/stripe-delete-secret"
	labelReadSecret    = "respaldo/v1/stripe-read-secret"
	labelMemberID      = "respaldo/v1/member-id"
	domainHead         = "respaldo/v1/head"   // head signatures
	domainMember       = "respaldo/v1/member" // member signatures
	domainDeleteProof  = "respaldo/v1/stripe-delete-proof"
	domainReadProof    = "respaldo/v1/stripe-read-proof"
)

// hkdf32 is HKDF-SHA-256 (RFC 5869) with a 32-byte output.
func hkdf32(secret, salt []byte, info string) (out [32]byte) {
	b, err := hkdf.Key(sha256.New, secret, salt, info, len(out))
	if err != nil {
		panic("crypto: hkdf: " + err.Error()) // only for outputs over 8160 bytes
	}
	return [32]byte(b)
}

// derive is HKDF-SHA-256(IKM = recovery key, salt = none, info).
func (k RecoveryKey) derive(info string) [32]byte { return hkdf32(k[:], nil, info) }

// hashLabel is SHA-256(label || 0x00 || parts...).
func hashLabel(label string, parts ...[]byte) (out [32]byte) {
	h := sha256.New()
	h.Write([]byte(label))
	h.Write([]byte{0})
	for _, p := range parts {
		h.Write(p)
	}
	h.Sum(out[:0])
	return out
}

// checkDevice enforces the device-name rule of ErrDeviceName. Names are used
// byte for byte: "laptop" and "Laptop" are two devices.
func checkDevice(name string) error {
	if name == "" || len(name) > 64 || !utf8.ValidString(name) {
		return ErrDeviceName
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return ErrDeviceName
		}
	}
	return nil
}
