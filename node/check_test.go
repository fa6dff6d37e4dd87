package node

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/erasure"
)

func TestClassify(t *testing.T) {
	p := erasure.Params{K: 4, M: 2}
	ids := func(s string) map[int][]peer.ID { // "abcdef": shard i at peer s[i], '.' none
		m := map[int][]peer.ID{}
		for i, c := range s {
			if c != '.' {
				m[i] = append(m[i], peer.ID(string(c)))
			}
		}
		return m
	}
	for _, c := range []struct {
		found string
		h     StripeHealth
		under bool
		tol   int
	}{
		{"abcdef", Healthy, false, 2},
		{"abcde.", Degraded, false, 1},
		{"abcd..", AtRisk, false, 0},
		{"abc...", Lost, false, 0},
		{"aabbcc", Healthy, true, 1}, // three peers of two shards: one may go
		{"aaabbc", Healthy, true, 0}, // losing a loses three
		{"abcabc", Healthy, true, 1},
		{"......", Lost, false, 0},
	} {
		h, under, tol := classify(p, ids(c.found))
		if h != c.h || under != c.under || tol != c.tol {
			t.Errorf("%s: %v %v %d, want %v %v %d", c.found, h, under, tol, c.h, c.under, c.tol)
		}
	}
	// A shard held twice counts once, at the peer kept longest.
	m := ids("abcdef")
	m[0] = append(m[0], "b")
	if _, _, tol := classify(p, m); tol != 2 {
		t.Errorf("duplicate holder: tolerates %d, want 2", tol)
	}
}
