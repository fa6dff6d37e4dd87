package api

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"strings"

	"respaldo/crypto"
)

// Sentinel errors. The Backend returns them (or wraps them with %w) to pick
// the wire code; the Client returns an *Error that matches the same
// sentinel under errors.Is, so the CLI can tell them apart and print the
// message as one line.
var (
	ErrBadRequest       = errors.New("bad request")
	ErrUnauthorized     = errors.New("unauthorized: missing or wrong API token")
	ErrForbidden        = errors.New("forbidden")
	ErrNeedsRecoveryKey = errors.New("this needs the member's recovery key (--recovery-key-file F)")
	ErrNeedsOperatorKey = errors.New("this needs an operator key (this node holds none; --operator-key F)")
	ErrNotFound         = errors.New("not found")
	ErrConflict         = errors.New("conflict")
	ErrInternal         = errors.New("internal error")
	ErrNotImplemented   = errors.New("this node does not do that yet")
	ErrUnavailable      = errors.New("unavailable")
	// ErrNodeNotRunning: no node answers in the data directory (Dial, or a
	// node that stopped between calls). Never on the wire.
	ErrNodeNotRunning = errors.New("no node is running")
)

// The wire codes, each with its HTTP status and sentinel. bad-request may
// also come with 405 (wrong method) or 413 (body too large).
var codes = []struct {
	code   string
	status int
	err    error
}{
	{"bad-request", http.StatusBadRequest, ErrBadRequest},
	{"unauthorized", http.StatusUnauthorized, ErrUnauthorized},
	{"forbidden", http.StatusForbidden, ErrForbidden},
	{"needs-recovery-key", http.StatusForbidden, ErrNeedsRecoveryKey},
	{"needs-operator-key", http.StatusForbidden, ErrNeedsOperatorKey},
	{"not-found", http.StatusNotFound, ErrNotFound},
	{"conflict", http.StatusConflict, ErrConflict},
	{"internal", http.StatusInternalServerError, ErrInternal},
	{"not-implemented", http.StatusNotImplemented, ErrNotImplemented},
	{"unavailable", http.StatusServiceUnavailable, ErrUnavailable},
}

// Error is an error answered by the node: its body {"error", "code"} and the
// HTTP status. Error() is the one-line message; errors.Is matches the
// sentinel of Code. A Backend may return an *Error to choose both.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"error"`
}

func (e *Error) Error() string { return e.Message }

// Is matches the sentinel of e.Code.
func (e *Error) Is(target error) bool {
	for _, c := range codes {
		if c.code == e.Code {
			return c.err == target
		}
	}
	return false
}

// toError turns what a Backend (or the server) returned into the wire
// error: an *Error as it is, else the first sentinel err wraps, else
// internal. The message is err's, on one line.
func toError(err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		out := *e
		out.Message = oneLine(out.Message)
		if out.Status == 0 {
			out.Status = statusOf(out.Code)
		}
		return &out
	}
	code, msg := "internal", oneLine(err.Error())
	switch {
	case errors.Is(err, crypto.ErrRecoveryKeyTypo), errors.Is(err, crypto.ErrRecoveryKeyFormat):
		code = "bad-request"
	case errors.Is(err, fs.ErrNotExist):
		code = "not-found"
	case errors.Is(err, context.Canceled):
		// Only the server's ctx is canceled with a client left to tell.
		code, msg = "unavailable", "the node stopped before this finished ("+msg+")"
	case errors.Is(err, context.DeadlineExceeded):
		code = "unavailable"
	default:
		for _, c := range codes {
			if errors.Is(err, c.err) {
				code = c.code
				break
			}
		}
	}
	return &Error{Status: statusOf(code), Code: code, Message: msg}
}

func statusOf(code string) int {
	for _, c := range codes {
		if c.code == code {
			return c.status
		}
	}
	return http.StatusInternalServerError
}

// errorf is a wire error with its code's status.
func errorf(code, msg string) *Error {
	return &Error{Status: statusOf(code), Code: code, Message: msg}
}

// oneLine joins the lines of s with "; " so that every error is one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	f := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	return strings.Join(f, "; ")
}
