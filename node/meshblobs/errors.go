package meshblobs

import (
	"errors"
	"fmt"

	"respaldo/erasure"
)

// Sentinel errors; every error of the package wraps one of them, a
// sentinel of node/shard, erasure or node/placement, or ctx's error.
var (
	// ErrNotFound: no holder reachable has any shard (or the descriptor)
	// of the stripe. Permanent until it is put, or its holders come back.
	ErrNotFound = errors.New("meshblobs: stripe not found")
	// ErrTooFewShards: holders were found, but fewer than k of them gave
	// a good shard.
	ErrTooFewShards = errors.New("meshblobs: too few shards")
	// ErrNeedsRecoveryKey: reading needs the member's keys, which a
	// write-only node does not have. Meant for the user.
	ErrNeedsRecoveryKey = errors.New("reading backups needs the recovery key; this node only writes")
	// ErrInvalidConfig: a Config that Validate refuses.
	ErrInvalidConfig = errors.New("meshblobs: invalid config")
)

// notFound wraps ErrNotFound, and the configured NotFound too.
func (b *Blobs) notFound(id erasure.StripeID, what string) error {
	if b.cfg.NotFound != nil {
		return fmt.Errorf("meshblobs: stripe %v: %s: %w: %w", id, what, ErrNotFound, b.cfg.NotFound)
	}
	return fmt.Errorf("meshblobs: stripe %v: %s: %w", id, what, ErrNotFound)
}

// tooFewError: fewer than k good shards were found; it wraps
// ErrTooFewShards and the last holder's error.
type tooFewError struct {
	id     erasure.StripeID
	got, k int
	last   error
}

func (e *tooFewError) Error() string {
	s := fmt.Sprintf("meshblobs: stripe %v: %d good shards found, %d needed: too few shards", e.id, e.got, e.k)
	if e.last != nil {
		s += " (last: " + e.last.Error() + ")"
	}
	return s
}

func (e *tooFewError) Unwrap() []error {
	if e.last == nil {
		return []error{ErrTooFewShards}
	}
	return []error{ErrTooFewShards, e.last}
}
