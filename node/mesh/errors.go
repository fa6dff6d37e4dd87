package mesh

import "errors"

// Sentinel errors; every error this package returns wraps one of them, so
// callers test with errors.Is. Messages are one line.
var (
	// ErrBadHeartbeat: bytes are not a valid heartbeat (garbage, too long,
	// not canonical, an unknown field or an absurd value), or a Heartbeat
	// value is invalid. Permanent for those bytes.
	ErrBadHeartbeat = errors.New("bad heartbeat")
	// ErrUnknownVersion: a heartbeat carries a version this build does not
	// read. Always returned together with ErrBadHeartbeat.
	ErrUnknownVersion = errors.New("unknown heartbeat version")
	// ErrBadConfig: a table Config does not validate.
	ErrBadConfig = errors.New("bad mesh table config")
)
