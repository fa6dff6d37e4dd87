package shard

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors. Every error the client functions and Handler.Serve return
// wraps one of them (test with errors.Is), or is the context's error. A
// refusal names the sentinel and, after a colon, one line of detail; a
// refusal received from a holder carries the holder's detail line.
var (
	// ErrNotFound: the holder does not hold the shard (or its copy is
	// damaged and was not served). Ask another holder.
	ErrNotFound = errors.New("shard: not found")
	// ErrNoSpace: the holder has no room for the shard. Nothing was stored.
	ErrNoSpace = errors.New("shard: holder is out of space")
	// ErrDenied: no valid proof of the stripe's read or deletion secret, and
	// the holder's Authorizer did not allow the request either.
	ErrDenied = errors.New("shard: denied")
	// ErrBadRequest: a malformed or inconsistent request (garbage, a bad or
	// foreign descriptor, a size that does not match it, an index or piece
	// out of range, a shard over the size limit).
	ErrBadRequest = errors.New("shard: bad request")
	// ErrWrongShard: shard bytes (or a piece with its proof) do not match
	// the descriptor: refused by a holder on put, or caught by the client
	// on get and audit. A holder that sends wrong bytes is faulty or lying.
	ErrWrongShard = errors.New("shard: wrong shard")
	// ErrDeleted: the stripe's owner deleted it from this holder, which
	// refuses to take any shard of it again.
	ErrDeleted = errors.New("shard: stripe was deleted by its owner")
	// ErrBusy: the peer has too many streams open to the holder at once, or
	// the holder's replay memory is full. Retry later.
	ErrBusy = errors.New("shard: busy")
	// ErrStalled: the stream moved too few bytes for too long (see
	// Limits.MinRate and Limits.StallTimeout) and was cut off.
	ErrStalled = errors.New("shard: stream stalled")
	// ErrInternal: the holder failed (its disk, its store), broke the
	// protocol (a malformed answer, an unknown code) or closed the stream
	// without answering.
	ErrInternal = errors.New("shard: holder failed")
	// ErrUnsupported: the holder does not know the operation (it answered
	// a well-formed locate request with bad-request: an older version).
	// Client side only, it has no wire code; such errors wrap
	// ErrBadRequest too. Fall back to another way (has per shard).
	ErrUnsupported = errors.New("shard: operation not supported by the holder")
)

// codeOK is the status of a successful response.
const codeOK = "ok"

// codes maps wire status codes to sentinels, like syncthing's
// lib/protocol/errors.go. Codes are stable: never renumber or reuse one.
var codes = []struct {
	code string
	err  error
}{
	{"not-found", ErrNotFound},
	{"no-space", ErrNoSpace},
	{"denied", ErrDenied},
	{"bad-request", ErrBadRequest},
	{"wrong-shard", ErrWrongShard},
	{"deleted", ErrDeleted},
	{"busy", ErrBusy},
	{"stalled", ErrStalled},
	{"internal", ErrInternal},
}

// errorToCode returns the wire code of the first sentinel err wraps, in the
// order of codes; "internal" when it wraps none.
func errorToCode(err error) string {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "internal"
}

// codeToError returns the sentinel of a wire code, nil for an unknown one
// (from a newer holder).
func codeToError(code string) error {
	for _, c := range codes {
		if c.code == code {
			return c.err
		}
	}
	return nil
}

// refusal is an error with a code for the peer. msg is one line, safe to
// send; cause is local detail (paths, store errors) that never leaves the
// node. Error() is "<sentinel>: <msg>: <cause>".
type refusal struct {
	code  error
	msg   string
	cause error
}

func (r *refusal) Error() string {
	s := r.code.Error()
	if r.msg != "" {
		s += ": " + r.msg
	}
	if r.cause != nil {
		s += ": " + oneLine(r.cause.Error(), 1024)
	}
	return s
}

// Unwrap returns the sentinel and the cause.
func (r *refusal) Unwrap() []error {
	if r.cause == nil {
		return []error{r.code}
	}
	return []error{r.code, r.cause}
}

func refuse(code error, msg string) *refusal {
	return &refusal{code: code, msg: oneLine(msg, maxMessage)}
}

func refuseCause(code error, msg string, cause error) *refusal {
	return &refusal{code: code, msg: oneLine(msg, maxMessage), cause: cause}
}

// oneLine returns s with control characters and invalid UTF-8 replaced by
// spaces, cut to at most max bytes on a rune boundary.
func oneLine(s string, max int) string {
	s = strings.ToValidUTF8(s, " ")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// isOneLine reports whether s is as oneLine leaves it.
func isOneLine(s string, max int) bool { return len(s) <= max && oneLine(s, max) == s }
