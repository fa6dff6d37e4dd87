package crypto

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"unicode"
)

// The rk1 encoding; docs/keys.md describes it for people.
const (
	rkPrefix     = "rk1"
	rkAlphabet   = "0123456789ABCDEFGHJKMNPQRSTVWXYZ" // Crockford base32
	rkDataSyms   = 52                                 // ceil(256/5); the last carries 1 bit and 4 zero bits
	rkSumSyms    = 4                                  // 20-bit checksum of the whole key
	rkGroupData  = 4                                  // data symbols per group
	rkGroupLen   = rkGroupData + 1                    // plus one check symbol
	rkGroups     = (rkDataSyms + rkSumSyms) / rkGroupData
	rkBodyLen    = rkGroups * rkGroupLen
	rkSumLabel   = "respaldo/rk1/checksum"
	rkGFPoly     = 0x25 // x^5 + x^2 + 1 defines GF(32)
	rkCheckShift = 4    // the check symbol has weight x^4
)

// rkValue maps a typed byte to its symbol, or 0xff. Case is ignored, I and L
// read as 1, O as 0 (Crockford).
var rkValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := range len(rkAlphabet) {
		c := rkAlphabet[i]
		t[c] = byte(i)
		t[unicode.ToLower(rune(c))] = byte(i)
	}
	for _, c := range "IiLl" {
		t[c] = 1
	}
	t['O'], t['o'] = 0, 0
	return t
}()

func gfMul(a, b byte) byte {
	var p byte
	for ; b != 0; b >>= 1 {
		if b&1 != 0 {
			p ^= a
		}
		a <<= 1
		if a&0x20 != 0 {
			a ^= rkGFPoly
		}
	}
	return p
}

// gfInvCheckWeight is the inverse of x^4 in GF(32).
var gfInvCheckWeight = func() byte {
	for c := byte(1); c < 32; c++ {
		if gfMul(c, 1<<rkCheckShift) == 1 {
			return c
		}
	}
	panic("unreachable")
}()

// groupSum is Σ x^i·s_i over the symbols of a group, in GF(32).
func groupSum(syms []byte) byte {
	var acc byte
	for i, s := range syms {
		acc ^= gfMul(1<<i, s)
	}
	return acc
}

// groupCheck returns the check symbol c of group g (0-based) such that
// Σ x^i·s_i = g+1 over the group's five symbols. Distinct non-zero weights
// catch every substitution and every transposition inside a group; the
// group number on the right catches a group typed in the wrong place.
func groupCheck(g int, data []byte) byte {
	return gfMul(gfInvCheckWeight, byte(g+1)^groupSum(data))
}

func groupOK(g int, group []byte) bool { return groupSum(group) == byte(g+1) }

// symbols returns the 52 data symbols of k followed by its 4 checksum symbols.
func (k RecoveryKey) symbols() (out [rkDataSyms + rkSumSyms]byte) {
	var acc uint32
	bits, j := 0, 0
	for _, b := range k {
		acc = acc<<8 | uint32(b)
		for bits += 8; bits >= 5; j++ {
			bits -= 5
			out[j] = byte(acc>>bits) & 31
		}
	}
	out[j] = byte(acc<<(5-bits)) & 31
	copy(out[rkDataSyms:], k.checksum())
	return out
}

// checksum is the first 20 bits of SHA-256(label || 0 || key), as 4 symbols.
func (k RecoveryKey) checksum() []byte {
	h := sha256.Sum256(append([]byte(rkSumLabel+"\x00"), k[:]...))
	v := uint32(h[0])<<12 | uint32(h[1])<<4 | uint32(h[2])>>4
	return []byte{byte(v>>15) & 31, byte(v>>10) & 31, byte(v>>5) & 31, byte(v) & 31}
}

// keyFromSymbols packs 52 symbols into 32 bytes; ok is false when the 4
// padding bits are not zero.
func keyFromSymbols(syms []byte) (k RecoveryKey, ok bool) {
	var acc uint32
	bits, j := 0, 0
	for _, s := range syms {
		acc = acc<<5 | uint32(s)
		if bits += 5; bits >= 8 {
			bits -= 8
			k[j] = byte(acc >> bits)
			j++
		}
	}
	return k, acc&(1<<bits-1) == 0
}

// TypoError is returned by ParseRecoveryKey when the input is a recovery key
// with a typo. errors.Is(err, ErrRecoveryKeyTypo) holds.
type TypoError struct {
	// Groups are the 1-based numbers of the groups that fail their check;
	// empty when the typo cannot be placed (a missing character in an
	// ungrouped key, a typo in the prefix, two typos that cancel in a group).
	Groups []int
	msg    string
}

func (e *TypoError) Error() string        { return e.msg }
func (e *TypoError) Is(target error) bool { return target == ErrRecoveryKeyTypo }

func typoInGroups(groups []int, detail string) *TypoError {
	var msg string
	switch n := len(groups); n {
	case 1:
		msg = fmt.Sprintf("recovery key: group %d has a typo", groups[0])
	default:
		s := make([]string, n)
		for i, g := range groups {
			s[i] = fmt.Sprint(g)
		}
		msg = fmt.Sprintf("recovery key: groups %s and %s have typos", strings.Join(s[:n-1], ", "), s[n-1])
	}
	if detail != "" {
		msg += " (" + detail + ")"
	}
	return &TypoError{Groups: groups, msg: msg}
}

// formatError is a not-a-key error with a specific one-line message.
type formatError struct{ msg string }

func (e *formatError) Error() string        { return e.msg }
func (e *formatError) Is(target error) bool { return target == ErrRecoveryKeyFormat }
