package erasure

import (
	"encoding/hex"
	"fmt"
)

// StripeID names a stripe: the SHA-256 of its descriptor's canonical CBOR
// encoding (Descriptor.Marshal). Every reference to a stripe uses it, so a
// descriptor fetched under an ID can be checked (OpenDescriptor). It is a
// comparable value type, usable as a map key.
type StripeID [32]byte

// String is the ID as 64 lowercase hex digits.
func (id StripeID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero value (no stripe).
func (id StripeID) IsZero() bool { return id == StripeID{} }

// ParseStripeID reads 64 hex digits (either case). Errors wrap ErrBadStripeID.
func ParseStripeID(s string) (StripeID, error) {
	var id StripeID
	if len(s) != 2*len(id) {
		return StripeID{}, fmt.Errorf("%w: %q has %d characters, want %d hex digits", ErrBadStripeID, s, len(s), 2*len(id))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return StripeID{}, fmt.Errorf("%w: %q is not hexadecimal", ErrBadStripeID, s)
	}
	return id, nil
}

// MarshalText implements encoding.TextMarshaler (hex, as String), so IDs
// read well in JSON. CBOR encoders see a 32-byte byte string.
func (id StripeID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (as ParseStripeID).
func (id *StripeID) UnmarshalText(b []byte) error {
	v, err := ParseStripeID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
