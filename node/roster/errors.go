package roster

import (
	"errors"
	"fmt"
)

// Sentinel errors. Each is one line, fit to show to a user; errors returned
// by this package are these or wrap them (test with errors.Is). All are
// permanent: the same entries give the same verdict on every node, at any
// time, because validity never depends on a clock.
var (
	// ErrBadSignature: an entry's signature does not verify under the key
	// it names as its signer (the entry was altered, or forged).
	ErrBadSignature = errors.New("roster: bad signature")

	// ErrNotOperator: an entry is signed by a key that is not an operator
	// of this mesh at that point of the log (never was, or was removed).
	ErrNotOperator = errors.New("roster: signed by a key that is not an operator of this mesh")

	// ErrBrokenChain: entries do not continue the log: a wrong seq, a gap,
	// or entries out of order.
	ErrBrokenChain = errors.New("roster: entries do not continue the log")

	// ErrFork: two different entries claim the same seq. The error is a
	// *ForkError naming both hashes.
	ErrFork = errors.New("roster: fork: two different entries at the same seq")

	// ErrRevoked: the peer is revoked; it can never be admitted again, nor
	// revoked twice.
	ErrRevoked = errors.New("roster: peer is revoked")

	// ErrTokenUsed: the invite token was already consumed by an admit (or
	// already recorded by an invite entry).
	ErrTokenUsed = errors.New("roster: invite token already used")

	// ErrTokenWithdrawn: the invite token was withdrawn by a
	// withdraw-invite entry: no admit may consume it, and it cannot be
	// withdrawn twice.
	ErrTokenWithdrawn = errors.New("roster: invite withdrawn")

	// ErrBadEntry: bytes that are not a roster entry or log, or an entry
	// that breaks a rule of the log (the wrapped message says which).
	ErrBadEntry = errors.New("roster: invalid entry")
)

// ForkError reports a fork: at Seq this log holds the entry hashing to Ours,
// and the other side holds (or builds on) one hashing to Theirs. At seq 0 it
// means the two logs are of different meshes. errors.Is(err, ErrFork) holds.
type ForkError struct {
	Seq          uint64
	Ours, Theirs Hash
}

func (e *ForkError) Error() string {
	if e.Seq == 0 {
		return fmt.Sprintf("roster: fork at seq 0 (another mesh): ours %s, theirs %s", e.Ours, e.Theirs)
	}
	return fmt.Sprintf("roster: fork at seq %d: ours %s, theirs %s", e.Seq, e.Ours, e.Theirs)
}

func (e *ForkError) Unwrap() error { return ErrFork }

func badf(seq uint64, format string, args ...any) error {
	return fmt.Errorf("%w: seq %d: %s", ErrBadEntry, seq, fmt.Sprintf(format, args...))
}

// badNof is badf for errors that concern no particular entry.
func badNof(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadEntry, fmt.Sprintf(format, args...))
}

func wrapf(sentinel error, seq uint64, format string, args ...any) error {
	return fmt.Errorf("%w: seq %d: %s", sentinel, seq, fmt.Sprintf(format, args...))
}
