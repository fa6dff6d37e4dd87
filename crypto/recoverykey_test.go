package crypto

import (
	"errors"

	"filippo.io/age"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func testKey(t testing.TB) RecoveryKey {
	t.Helper()
	k, err := GenerateRecoveryKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRecoveryKeyRoundTrip(t *testing.T) {
	for range 200 {
		k := testKey(t)
		s := k.Reveal()
		if len(s) != 87 || !strings.HasPrefix(s, "rk1-") {
			t.Fatalf("Reveal = %q (%d chars)", s, len(s))
		}
		got, err := ParseRecoveryKey(s)
		if err != nil || got != k {
			t.Fatalf("ParseRecoveryKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, k := range []RecoveryKey{{}, {0xff, 0xff}, func() (k RecoveryKey) {
		for i := range k {
			k[i] = 0xff
		}
		return k
	}()} {
		if got, err := ParseRecoveryKey(k.Reveal()); err != nil || got != k {
			t.Fatalf("edge key %x: %x, %v", k, got, err)
		}
	}
}

func TestRecoveryKeyLenientInput(t *testing.T) {
	k := testKey(t)
	s := k.Reveal()
	body := strings.TrimPrefix(s, "rk1-")
	confusable := strings.NewReplacer("1", "l", "0", "O").Replace(body)
	for name, in := range map[string]string{
		"lower case":        strings.ToLower(s),
		"no dashes":         strings.ReplaceAll(s, "-", ""),
		"spaces":            strings.ReplaceAll(s, "-", " "),
		"no prefix":         body,
		"no prefix lower":   strings.ToLower(body),
		"surrounding space": "\n  " + s + " \t\n",
		"unicode dashes":    strings.ReplaceAll(s, "-", "\u2013"),
		"confusables":       "rk1-" + confusable,
		"confusables lower": strings.ToLower("rk1-" + confusable),
		"prefix I":          "RKI-" + body,
		"prefix glued":      "rk1" + strings.ReplaceAll(body, "-", ""),
		"line breaks":       strings.Replace(s, "-", "\n", 7),
	} {
		got, err := ParseRecoveryKey(in)
		if err != nil || got != k {
			t.Errorf("%s: ParseRecoveryKey(%q) = %v", name, in, err)
		}
	}
}

// groupOf returns the 1-based group of body position i (0..69).
func groupOf(i int) int { return i/rkGroupLen + 1 }

func wantTypo(t *testing.T, in string, groups ...int) {
	t.Helper()
	_, err := ParseRecoveryKey(in)
	var te *TypoError
	if !errors.Is(err, ErrRecoveryKeyTypo) || !errors.As(err, &te) || errors.Is(err, ErrRecoveryKeyFormat) {
		t.Fatalf("ParseRecoveryKey(%q) = %v, want a typo", in, err)
	}
	if groups != nil && !slices.Equal(te.Groups, groups) {
		t.Fatalf("ParseRecoveryKey(%q) blames groups %v, want %v (%v)", in, te.Groups, groups, err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error is not one line: %q", err)
	}
}

// Every single-character substitution, with every other character a person
// could type, is caught and blamed on its group.
func TestRecoveryKeyEverySubstitution(t *testing.T) {
	for range 5 {
		k := testKey(t)
		body := []byte(strings.TrimPrefix(k.Reveal(), "rk1-"))
		pos := 0
		for i := range body {
			if body[i] == '-' {
				continue
			}
			for c := byte('!'); c <= '~'; c++ {
				if v := rkValue[c]; c == '-' || v == rkValue[body[i]] {
					continue // a separator, or the same symbol (case, I/L/O)
				}
				typo := slices.Clone(body)
				typo[i] = c
				wantTypo(t, "rk1-"+string(typo), groupOf(pos))
			}
			pos++
		}
	}
}

func TestRecoveryKeyEveryAdjacentSwap(t *testing.T) {
	for range 20 {
		k := testKey(t)
		body := []byte(strings.ReplaceAll(strings.TrimPrefix(k.Reveal(), "rk1-"), "-", ""))
		for i := 0; i+1 < len(body); i++ {
			if body[i] == body[i+1] {
				continue
			}
			typo := slices.Clone(body)
			typo[i], typo[i+1] = typo[i+1], typo[i]
			if groupOf(i) == groupOf(i+1) {
				wantTypo(t, "rk1-"+string(typo), groupOf(i))
			} else {
				wantTypo(t, "rk1-"+string(typo))
			}
		}
	}
}

func TestRecoveryKeyGroupErrors(t *testing.T) {
	k := testKey(t)
	groups := strings.Split(strings.TrimPrefix(k.Reveal(), "rk1-"), "-")
	join := func(g []string) string { return "rk1-" + strings.Join(g, "-") }

	// Two groups swapped: both blamed.
	g := slices.Clone(groups)
	g[3], g[4] = g[4], g[3]
	if g[3] != g[4] {
		wantTypo(t, join(g), 4, 5)
	}
	// A character missing or extra in a typed-apart group.
	g = slices.Clone(groups)
	g[6] = g[6][:4]
	wantTypo(t, join(g), 7)
	g = slices.Clone(groups)
	g[9] += "7"
	wantTypo(t, join(g), 10)
	// A character missing without dashes: a typo that cannot be placed.
	flat := strings.Join(groups, "")
	wantTypo(t, "rk1-"+flat[:30]+flat[31:])
	// A typo in the prefix.
	wantTypo(t, "rx1-"+strings.Join(groups, "-"))
	// Two typos in different groups.
	g = slices.Clone(groups)
	g[1] = flip(g[1], 0)
	g[12] = flip(g[12], 3)
	_, err := ParseRecoveryKey(join(g))
	wantTypo(t, join(g), 2, 13)
	if !strings.Contains(err.Error(), "groups 2 and 13 have typos") {
		t.Errorf("message = %q", err)
	}
	// A letter that is not in the alphabet.
	g = slices.Clone(groups)
	g[4] = "U" + g[4][1:]
	_, err = ParseRecoveryKey(join(g))
	wantTypo(t, join(g), 5)
	if got := err.Error(); got != `recovery key: group 5 has a typo ('U' is not used in recovery keys)` {
		t.Errorf("message = %q", got)
	}
}

func flip(s string, i int) string {
	b := []byte(s)
	b[i] = rkAlphabet[(rkValue[b[i]]+7)%32]
	return string(b)
}

func TestRecoveryKeyNotAKey(t *testing.T) {
	pq, _ := age.GenerateHybridIdentity()
	x, _ := age.GenerateX25519Identity()
	k := testKey(t)
	body := strings.TrimPrefix(k.Reveal(), "rk1-")
	for _, in := range []string{
		pq.String(), pq.Recipient().String(), x.String(), x.Recipient().String(),
		strings.ReplaceAll(body, "-", "")[1:], // no prefix: too unsure to call it a typo
		strings.Repeat("ABCD-", 14),
		"",
		"   - -",
		"hello",
		"rk1-",
		"AGE-SECRET-KEY-PQ-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
		"rk2-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA",
		"rk1-" + strings.Repeat("ZZZZZ-", 13) + "ZZZZZ",
		strings.Repeat("correct horse battery staple ", 3),
	} {
		_, err := ParseRecoveryKey(in)
		if !errors.Is(err, ErrRecoveryKeyFormat) || errors.Is(err, ErrRecoveryKeyTypo) {
			t.Errorf("ParseRecoveryKey(%q) = %v, want not-a-key", in, err)
		}
	}
}

func TestRecoveryKeyNotPrinted(t *testing.T) {
	k := testKey(t)
	enc := strings.ToLower(strings.ReplaceAll(k.Reveal(), "-", ""))
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q"} {
		out := strings.ToLower(fmt.Sprintf(f, k))
		if strings.Contains(out, fmt.Sprintf("%x", k[:])) || strings.Contains(out, enc[3:20]) {
			t.Errorf("fmt %s reveals the key: %s", f, out)
		}
	}
}

func FuzzParseRecoveryKey(f *testing.F) {
	k := RecoveryKey{1, 2, 3}
	f.Add(k.Reveal(), k[:])
	f.Add(strings.ToLower(k.Reveal()), []byte{})
	f.Add("rk1-", []byte{0xff})
	f.Add("rk2-AAAAA", []byte("x"))
	f.Add("RKL-\u2013\u00e9", []byte{})
	f.Fuzz(func(t *testing.T, s string, b []byte) {
		got, err := ParseRecoveryKey(s)
		if err == nil {
			if again, err := ParseRecoveryKey(got.Reveal()); err != nil || again != got {
				t.Fatalf("parse(Reveal(parse(%q))) = %v", s, err)
			}
		} else if errors.Is(err, ErrRecoveryKeyTypo) == errors.Is(err, ErrRecoveryKeyFormat) {
			t.Fatalf("ParseRecoveryKey(%q) = %v: neither or both kinds", s, err)
		} else if strings.Contains(err.Error(), "\n") {
			t.Fatalf("error is not one line: %q", err)
		}
		var k RecoveryKey
		copy(k[:], b)
		if got, err := ParseRecoveryKey(k.Reveal()); err != nil || got != k {
			t.Fatalf("parse(Reveal(%x)) = %x, %v", k, got, err)
		}
	})
}
