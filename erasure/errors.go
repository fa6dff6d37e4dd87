package erasure

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error this package returns wraps one of them (with
// %w), so callers test with errors.Is; the messages are one line and meant to
// be shown to a user as they are.
var (
	// ErrBadParams: k+m is not a usable Reed-Solomon geometry, or a call was
	// given the wrong number of shard slots.
	ErrBadParams = errors.New("invalid erasure parameters")
	// ErrBlobTooLarge: a blob is longer than MaxBlobSize.
	ErrBlobTooLarge = errors.New("blob too large")
	// ErrTooFewShards: fewer than k shards of a stripe are present and good.
	// Returned as a *TooFewShardsError.
	ErrTooFewShards = errors.New("too few good shards")
	// ErrShardMismatch: a shard's length or content does not match its
	// descriptor. Returned inside a *ShardError that names the shard.
	ErrShardMismatch = errors.New("corrupt or wrong shard")
	// ErrBadDescriptor: a descriptor is malformed, not canonical, or
	// inconsistent with itself (or, found while rebuilding, with its shards).
	ErrBadDescriptor = errors.New("bad descriptor")
	// ErrStripeIDMismatch: descriptor bytes do not hash to the stripe ID
	// they were fetched under.
	ErrStripeIDMismatch = errors.New("descriptor does not hash to its stripe ID")
	// ErrBadProof: a piece proof does not lead to the shard's Merkle root, or
	// a piece index is out of range.
	ErrBadProof = errors.New("bad piece proof")
	// ErrBadStripeID: a string is not a stripe ID (64 hex digits).
	ErrBadStripeID = errors.New("bad stripe ID")
)

// ShardError says which shard of a stripe is wrong and why. Err wraps
// ErrShardMismatch, so errors.Is(err, ErrShardMismatch) holds for it.
type ShardError struct {
	Index int   // position in the stripe, 0..k+m-1, data shards first
	Err   error // wraps ErrShardMismatch
}

func (e *ShardError) Error() string { return fmt.Sprintf("shard %d: %v", e.Index, e.Err) }

// Unwrap returns e.Err.
func (e *ShardError) Unwrap() error { return e.Err }

func shardErrorf(i int, format string, args ...any) *ShardError {
	return &ShardError{Index: i, Err: fmt.Errorf("%w: "+format, append([]any{ErrShardMismatch}, args...)...)}
}

// TooFewShardsError is returned by Join and Reconstruct when fewer than k
// shards are present and good. It matches ErrTooFewShards with errors.Is,
// and, when some shards were bad, ErrShardMismatch and *ShardError too.
type TooFewShardsError struct {
	Good, Need, Total int
	Missing           []int         // indexes given as nil
	Bad               []*ShardError // shards given but wrong, in index order
}

func (e *TooFewShardsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %d good of %d, need %d", ErrTooFewShards, e.Good, e.Total, e.Need)
	if len(e.Missing) > 0 {
		b.WriteString("; missing ")
		for j, i := range e.Missing {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprint(&b, i)
		}
	}
	for _, se := range e.Bad {
		b.WriteString("; ")
		b.WriteString(se.Error())
	}
	return b.String()
}

// Unwrap returns ErrTooFewShards followed by the errors of the bad shards.
func (e *TooFewShardsError) Unwrap() []error {
	errs := make([]error, 0, 1+len(e.Bad))
	errs = append(errs, ErrTooFewShards)
	for _, se := range e.Bad {
		errs = append(errs, se)
	}
	return errs
}
