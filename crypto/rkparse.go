package crypto

import (
	"fmt"
	"strings"
	"unicode"
)

// ParseRecoveryKey reads a recovery key as a human typed it. It ignores case,
// spaces and dashes (any Unicode dash), reads I and L as 1 and O as 0, and
// accepts the key with or without its "rk1-" prefix.
//
// When the input has the shape of a key but a check fails, the error is a
// *TypoError (errors.Is(err, ErrRecoveryKeyTypo)) whose message names the
// group(s) to look at, e.g. "recovery key: group 5 has a typo". Any single
// wrong, missing or extra character and any swap of two characters is caught.
// When the input is not a recovery key at all (wrong length, unknown version,
// mostly garbage), errors.Is(err, ErrRecoveryKeyFormat) holds.
func ParseRecoveryKey(s string) (RecoveryKey, error) {
	if len(s) > 1024 {
		return RecoveryKey{}, &formatError{"recovery key: far too long"}
	}
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.Is(unicode.Pd, r)
	})
	var runes [][]rune
	total := 0
	for _, f := range fields {
		runes = append(runes, []rune(f))
		total += len(runes[len(runes)-1])
	}
	if total == 0 {
		return RecoveryKey{}, &formatError{"recovery key: empty"}
	}

	// The prefix: its own field ("rk1-..."), or implied by the length.
	var prefix []rune
	switch first := runes[0]; {
	case len(first) == 3 && (isRK(first) || total-3 == rkBodyLen):
		prefix, runes = first, runes[1:]
	case len(first) > 3 && isRK(first) && total != rkBodyLen && isVersion(first[2]):
		prefix, runes[0] = first[:3], first[3:]
	}
	bodyLen := total - len(prefix)
	body := make([]rune, 0, bodyLen)
	for _, f := range runes {
		body = append(body, f...)
	}
	if prefix != nil && !(isRK(prefix) && prefix[2] < 0x80 && rkValue[prefix[2]] == 1) {
		if bodyLen == rkBodyLen {
			if _, err := decodeBody(body); err == nil {
				return RecoveryKey{}, &TypoError{msg: "recovery key: the rk1- prefix has a typo"}
			}
		}
		if isRK(prefix) && prefix[2] >= '0' && prefix[2] <= '9' {
			return RecoveryKey{}, &formatError{fmt.Sprintf("recovery key: version rk%c is not known to this version of respaldo", prefix[2])}
		}
		return RecoveryKey{}, &formatError{"recovery key: does not start with rk1-"}
	}
	if bodyLen != rkBodyLen {
		return RecoveryKey{}, lengthError(runes, bodyLen, prefix != nil)
	}
	return decodeBody(body)
}

func isVersion(r rune) bool {
	return r >= '0' && r <= '9' || r < 0x80 && rkValue[r] == 1
}

func isRK(r []rune) bool {
	return unicode.ToUpper(r[0]) == 'R' && unicode.ToUpper(r[1]) == 'K'
}

// lengthError explains a body of the wrong length: per group when the
// groups are typed apart and most have the right length, as a typo when the
// prefix is there and one or a few characters are missing or extra, as
// not-a-key otherwise.
func lengthError(fields [][]rune, n int, prefixed bool) error {
	wrong := 0
	for _, f := range fields {
		if len(f) != rkGroupLen {
			wrong++
		}
	}
	if len(fields) == rkGroups && wrong <= 3 {
		var bad []int
		var detail string
		for i, f := range fields {
			if len(f) != rkGroupLen {
				bad = append(bad, i+1)
				detail = fmt.Sprintf("%d characters instead of %d", len(f), rkGroupLen)
			}
		}
		if len(bad) > 1 {
			detail = "wrong number of characters"
		}
		return typoInGroups(bad, detail)
	}
	if prefixed && n >= rkBodyLen-3 && n <= rkBodyLen+3 {
		return &TypoError{msg: fmt.Sprintf("recovery key: %d characters instead of %d: one is missing or extra", n, rkBodyLen)}
	}
	return &formatError{fmt.Sprintf("recovery key: expected rk1- and %d groups of %d characters", rkGroups, rkGroupLen)}
}

// decodeBody checks and decodes the 70 characters after the prefix.
func decodeBody(body []rune) (RecoveryKey, error) {
	var syms [rkBodyLen]byte
	var bad []int
	detail := ""
	for g := range rkGroups {
		group := syms[g*rkGroupLen : (g+1)*rkGroupLen]
		valid := true
		for i := range group {
			r := body[g*rkGroupLen+i]
			v := byte(0xff)
			if r < 0x80 {
				v = rkValue[r]
			}
			if v == 0xff {
				valid = false
				detail = fmt.Sprintf("%q is not used in recovery keys", r)
			}
			group[i] = v
		}
		if !valid || !groupOK(g, group) {
			bad = append(bad, g+1)
		}
	}
	if len(bad) > rkGroups/2 {
		return RecoveryKey{}, &formatError{"recovery key: most groups fail their check; this is not a respaldo recovery key"}
	}
	if len(bad) > 0 {
		if len(bad) > 1 {
			detail = ""
		}
		return RecoveryKey{}, typoInGroups(bad, detail)
	}

	data := make([]byte, 0, rkDataSyms+rkSumSyms)
	for g := range rkGroups {
		data = append(data, syms[g*rkGroupLen:g*rkGroupLen+rkGroupData]...)
	}
	k, padOK := keyFromSymbols(data[:rkDataSyms])
	if !padOK || string(k.checksum()) != string(data[rkDataSyms:]) {
		return RecoveryKey{}, &TypoError{msg: "recovery key: every group checks but the whole key does not: look for two typos in one group"}
	}
	return k, nil
}
