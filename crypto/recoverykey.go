package crypto

import (
	"crypto/rand"
	"strings"
)

// RecoveryKey is a member's root secret: 32 random bytes from which every
// other key of the member derives (see MemberKeys). It is shown to a human
// once, as the string from Reveal, and typed back years later.
//
// String and GoString do not reveal it; Reveal is the one deliberate way to
// get the encoding, so that a key can only reach a log or a screen on purpose.
// RecoveryKey deliberately has no MarshalText or MarshalJSON.
type RecoveryKey [32]byte

// GenerateRecoveryKey returns a new random recovery key.
func GenerateRecoveryKey() (RecoveryKey, error) {
	var k RecoveryKey
	if _, err := rand.Read(k[:]); err != nil {
		return RecoveryKey{}, err
	}
	return k, nil
}

// Reveal returns the human encoding of k, for showing it to its owner once:
//
//	rk1-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX
//
// Fourteen groups of five Crockford base32 characters: four carry data and
// the fifth checks its group; the fourteenth group carries a checksum of the
// whole key. ParseRecoveryKey(k.Reveal()) == k.
func (k RecoveryKey) Reveal() string {
	syms := k.symbols()
	var b strings.Builder
	b.Grow(len(rkPrefix) + rkGroups*(rkGroupLen+1))
	b.WriteString(rkPrefix)
	for g := range rkGroups {
		b.WriteByte('-')
		data := syms[g*rkGroupData : (g+1)*rkGroupData]
		for _, s := range data {
			b.WriteByte(rkAlphabet[s])
		}
		b.WriteByte(rkAlphabet[groupCheck(g, data)])
	}
	return b.String()
}

// String does not reveal the key; use Reveal.
func (k RecoveryKey) String() string { return "rk1-(redacted)" }

// GoString does not reveal the key; use Reveal.
func (k RecoveryKey) GoString() string { return "crypto.RecoveryKey(redacted)" }

// Member derives every key of the member. It is deterministic: the same
// recovery key gives the same keys forever (testdata/vectors.json).
func (k RecoveryKey) Member() *MemberKeys { return newMemberKeys(k) }

// WriteKeys derives the write-side keys of one device of the member; it is
// k.Member().Write(device).
func (k RecoveryKey) WriteKeys(device string) (*WriteKeys, error) {
	return k.Member().Write(device)
}
