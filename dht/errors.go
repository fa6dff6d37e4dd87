package dht

import "errors"

// Sentinel errors. Errors returned by this package are these or wrap them
// (test with errors.Is); a bad signature also wraps crypto.ErrBadSignature.
var (
	// ErrInvalidConfig: a HostConfig or Config field is out of range. Fix
	// the configuration; retrying does not help.
	ErrInvalidConfig = errors.New("dht: invalid configuration")

	// ErrBadRecord: bytes are not a well-formed head record (not canonical
	// CBOR, unknown version or field, wrong sizes) or a key is not a head
	// key. Permanent for those bytes.
	ErrBadRecord = errors.New("dht: malformed head record")

	// ErrKeyMismatch: a head record is stored under a key that is not the
	// key of its verifier. Permanent.
	ErrKeyMismatch = errors.New("dht: head record does not belong under this key")

	// ErrNotFound: no valid head record (or provider) was found before the
	// lookup ended. May change once the record is put or a node comes back.
	ErrNotFound = errors.New("dht: not found")

	// ErrNoBootstrapPeers: none of the given bootstrap peers could be
	// reached (or none of them runs the DHT as a server). Transient.
	ErrNoBootstrapPeers = errors.New("dht: no bootstrap peer reachable")
)
