package mesh

import (
	"fmt"
	"time"
)

// HeartbeatVersion is the heartbeat format version this package writes
// and reads; DecodeHeartbeat rejects every other with ErrUnknownVersion.
const HeartbeatVersion = 1

// Bounds beyond which a heartbeat is absurd and rejected.
const (
	// MaxHeartbeatSize bounds an encoded heartbeat; the largest valid one
	// takes about 330 bytes.
	MaxHeartbeatSize = 4 << 10
	// MaxBytes bounds free and used space: 1 EiB.
	MaxBytes int64 = 1 << 60
	// MaxShards bounds the shard count.
	MaxShards int64 = 1 << 40
	// MaxUptime bounds the uptime: 100 years.
	MaxUptime = 100 * 365 * 24 * time.Hour
)

// Heartbeat is what a node publishes every few seconds on the mesh's
// gossipsub topic, signed by its peer key (signing is done by package
// node, which must check that Peer is the message's verified signer).
// Everything in it is the sender's claim.
type Heartbeat struct {
	Version   int    // HeartbeatVersion
	Peer      PeerID // the sender
	Zone      Zone   // the zone it believes it is in; informational only
	FreeBytes int64  // space it offers for new shards, 0..MaxBytes
	UsedBytes int64  // space its shards take, 0..MaxBytes
	Shards    int64  // shards it holds, 0..MaxShards
	Software  string // software version, e.g. "respaldo 0.3.1"
	// Uptime since the daemon started, 0..MaxUptime; encoded in whole
	// seconds (Marshal truncates).
	Uptime time.Duration
	// Seq increases with every heartbeat of a peer, across restarts too
	// (a publisher starts from its clock in milliseconds, or a persisted
	// counter): a table ignores a heartbeat not newer than the last one.
	Seq uint64
	// Sent is the sender's clock when it sent; informational only (the
	// table uses its own now). Encoded in whole Unix milliseconds, UTC
	// (Marshal truncates); must lie in [1970, 10000).
	Sent time.Time
}

// Validate reports whether h may be encoded and accepted: the known
// version, a well-formed peer ID, short printable labels, and values within
// the bounds above. Errors wrap ErrBadHeartbeat.
func (h *Heartbeat) Validate() error {
	if why := h.invalid(); why != "" {
		return fmt.Errorf("%w: %s", ErrBadHeartbeat, why)
	}
	return nil
}

func (h *Heartbeat) invalid() string {
	switch {
	case h.Version != HeartbeatVersion:
		return fmt.Sprintf("version %d, want %d", h.Version, HeartbeatVersion)
	case !validPeerID(h.Peer):
		return fmt.Sprintf("peer ID %q is empty, too long or not printable ASCII", h.Peer)
	case !validLabel(string(h.Zone), MaxZoneLen):
		return fmt.Sprintf("zone %q is too long or not printable UTF-8", h.Zone)
	case !validLabel(h.Software, MaxSoftwareLen):
		return fmt.Sprintf("software version %q is too long or not printable UTF-8", h.Software)
	case h.FreeBytes < 0 || h.FreeBytes > MaxBytes:
		return fmt.Sprintf("free bytes %d out of range", h.FreeBytes)
	case h.UsedBytes < 0 || h.UsedBytes > MaxBytes:
		return fmt.Sprintf("used bytes %d out of range", h.UsedBytes)
	case h.Shards < 0 || h.Shards > MaxShards:
		return fmt.Sprintf("shard count %d out of range", h.Shards)
	case h.Uptime < 0 || h.Uptime > MaxUptime:
		return fmt.Sprintf("uptime %v out of range", h.Uptime)
	}
	if y := h.Sent.UTC().Year(); y < 1970 || y > 9999 {
		return fmt.Sprintf("sending time %v out of range", h.Sent)
	}
	return ""
}
