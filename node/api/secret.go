package api

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"respaldo/crypto"
)

// redacted is what a RecoveryKey or a Secret prints as.
const redacted = "(redacted)"

// RecoveryKey is a member's recovery key in a request body. Its JSON form is
// the key's human encoding ("rk1-…"), checked when decoded (a typo is a
// bad-request naming the group, as crypto.ParseRecoveryKey says). It never
// prints: String, GoString, Format and LogValue say "(redacted)". The zero
// value is no key; the JSON key is then absent (omitzero).
type RecoveryKey struct{ k *crypto.RecoveryKey }

// NewRecoveryKey wraps k for a request.
func NewRecoveryKey(k crypto.RecoveryKey) RecoveryKey { return RecoveryKey{&k} }

// Key returns the key, and false if none was given.
func (r RecoveryKey) Key() (crypto.RecoveryKey, bool) {
	if r.k == nil {
		return crypto.RecoveryKey{}, false
	}
	return *r.k, true
}

// IsZero reports whether no key was given.
func (r RecoveryKey) IsZero() bool { return r.k == nil }

// MarshalJSON writes the key's encoding, or null.
func (r RecoveryKey) MarshalJSON() ([]byte, error) {
	if r.k == nil {
		return []byte("null"), nil
	}
	return json.Marshal(r.k.Reveal())
}

// UnmarshalJSON parses the key. Errors wrap crypto.ErrRecoveryKeyTypo or
// crypto.ErrRecoveryKeyFormat and never contain the input.
func (r *RecoveryKey) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*r = RecoveryKey{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w (want a string)", crypto.ErrRecoveryKeyFormat)
	}
	k, err := crypto.ParseRecoveryKey(s)
	if err != nil {
		return err
	}
	*r = NewRecoveryKey(k)
	return nil
}

func (r RecoveryKey) String() string             { return redacted }
func (r RecoveryKey) GoString() string           { return redacted }
func (r RecoveryKey) Format(f fmt.State, _ rune) { f.Write([]byte(redacted)) }
func (r RecoveryKey) LogValue() slog.Value       { return slog.StringValue(redacted) }

// Secret is an opaque secret in a request body: the contents of an
// operator key file. Like RecoveryKey it never prints; Reveal is the one
// way to read it. The zero value is none.
type Secret struct{ s string }

// NewSecret wraps s (surrounding whitespace is kept; the daemon parses it).
func NewSecret(s string) Secret { return Secret{s} }

func (s Secret) String() string                { return redacted }
func (s Secret) GoString() string              { return redacted }
func (s Secret) Format(f fmt.State, _ rune)    { f.Write([]byte(redacted)) }
func (s Secret) LogValue() slog.Value          { return slog.StringValue(redacted) }
func (s Secret) MarshalJSON() ([]byte, error)  { return json.Marshal(s.s) }
func (s *Secret) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &s.s) }
func (s Secret) IsZero() bool                  { return s.s == "" }
func (s Secret) Reveal() string                { return s.s }

// The requests that carry a key log as their %+v, in which the key is
// "(redacted)": a JSON slog handler would otherwise marshal the key into
// the log. (The server logs no requests; this guards the Backend's logs.)

func (r SnapshotsRequest) LogValue() slog.Value { return slog.StringValue(fmt.Sprintf("%+v", r)) }
func (r LsRequest) LogValue() slog.Value        { return slog.StringValue(fmt.Sprintf("%+v", r)) }
func (r RestoreRequest) LogValue() slog.Value   { return slog.StringValue(fmt.Sprintf("%+v", r)) }
func (r CheckRequest) LogValue() slog.Value     { return slog.StringValue(fmt.Sprintf("%+v", r)) }
func (r ForgetRequest) LogValue() slog.Value    { return slog.StringValue(fmt.Sprintf("%+v", r)) }
func (r InviteRequest) LogValue() slog.Value    { return slog.StringValue(fmt.Sprintf("%+v", r)) }
func (r RevokeRequest) LogValue() slog.Value    { return slog.StringValue(fmt.Sprintf("%+v", r)) }
func (r RenewRequest) LogValue() slog.Value     { return slog.StringValue(fmt.Sprintf("%+v", r)) }
