package erasure

import (
	"fmt"
	"strconv"
	"strings"
)

const (
	// Version is the descriptor format version this package writes and reads.
	Version = 2
	// PieceSize is the granularity of Merkle leaves, audits and piece proofs.
	PieceSize = 64 << 10
	// MaxBlobSize is the largest blob a stripe holds (64 MiB).
	MaxBlobSize = 64 << 20
	// MaxShards is the largest k+m (the GF(2^8) Reed-Solomon limit).
	MaxShards = 256
)

// Params is a stripe geometry: K data shards plus M parity shards. Any K of
// the K+M shards rebuild the blob.
type Params struct{ K, M int }

// DefaultParams survive the loss of any two shards at 1.5x overhead.
var DefaultParams = Params{K: 4, M: 2}

// Total is K+M.
func (p Params) Total() int { return p.K + p.M }

// String formats p as "k+m", e.g. "4+2"; ParseParams reads it back.
func (p Params) String() string { return strconv.Itoa(p.K) + "+" + strconv.Itoa(p.M) }

// Validate checks 1 <= K, 0 <= M and K+M <= MaxShards. Errors wrap ErrBadParams.
func (p Params) Validate() error {
	if why := checkKM(p.K, p.M); why != "" {
		return fmt.Errorf("%w: %s", ErrBadParams, why)
	}
	return nil
}

// checkKM returns why k+m is unusable, or "".
func checkKM(k, m int) string {
	switch {
	case k < 1:
		return fmt.Sprintf("k=%d, need at least 1 data shard", k)
	case m < 0:
		return fmt.Sprintf("m=%d, parity shards cannot be negative", m)
	case uint64(k)+uint64(m) > MaxShards:
		return fmt.Sprintf("k+m=%d exceeds %d shards", uint64(k)+uint64(m), MaxShards)
	}
	return ""
}

// ParseParams reads "k+m" (decimal, e.g. "4+2", surrounding spaces allowed)
// and validates it. Errors wrap ErrBadParams.
func ParseParams(s string) (Params, error) {
	ks, ms, ok := strings.Cut(strings.TrimSpace(s), "+")
	k, kerr := parseSmall(ks)
	m, merr := parseSmall(ms)
	if !ok || kerr != nil || merr != nil {
		return Params{}, fmt.Errorf("%w: %q is not of the form k+m, e.g. 4+2", ErrBadParams, s)
	}
	p := Params{K: k, M: m}
	return p, p.Validate()
}

// parseSmall parses 1 to 4 decimal digits (no sign).
func parseSmall(s string) (int, error) {
	if len(s) == 0 || len(s) > 4 {
		return 0, strconv.ErrSyntax
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}
