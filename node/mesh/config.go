package mesh

import (
	"fmt"
	"math"
	"time"
)

// Config tunes a Table. Start from DefaultConfig, edit fields, and let
// NewTable validate them.
type Config struct {
	// Interval is the heartbeat period the mesh uses; it is also the unit
	// of availability: a peer is available in an interval (intervals are
	// aligned to the Unix epoch) if it was seen at least once in it. It must
	// match the publishers' period, or availability reads low.
	Interval time.Duration
	// LiveWindow: a member is live if seen within it (now - last seen <=
	// LiveWindow). At least Interval; 3 intervals by default, so one lost
	// heartbeat is not a death.
	LiveWindow time.Duration
	// Window is the sliding window of observed availability, kept in
	// Buckets buckets; Window/Buckets must be a whole number of Intervals.
	// The window slides one bucket at a time, so it covers between
	// Window - Window/Buckets and Window.
	Window  time.Duration
	Buckets int
	// Prior is the availability assumed of a peer with no history, in
	// [0, 1]; PriorWeight is how much observation it is worth. A peer's
	// availability is (seen + Prior*P) / (elapsed + P), with seen and
	// elapsed counted in intervals over the window since the table first
	// heard of it and P = PriorWeight/Interval. So a newcomer starts at
	// Prior and its own record outweighs the prior after PriorWeight.
	Prior       float64
	PriorWeight time.Duration
	// MaxStrangers bounds how many peers not (yet) in the members map the
	// table keeps state for; their evidence is kept so that a peer
	// heartbeating just before the roster reaches us does not start from
	// nothing. SetMembers forgets all of them.
	MaxStrangers int
}

// DefaultConfig: 5 s heartbeats, live within 15 s, availability over the
// last 24 h in 96 buckets of 15 min, a neutral prior of 0.5 worth one hour.
func DefaultConfig() Config {
	return Config{
		Interval:     5 * time.Second,
		LiveWindow:   15 * time.Second,
		Window:       24 * time.Hour,
		Buckets:      96,
		Prior:        0.5,
		PriorWeight:  time.Hour,
		MaxStrangers: 64,
	}
}

// maxIntervalsPerBucket keeps bucket counts in uint32 and sums in int64.
const maxIntervalsPerBucket = 1 << 24

// Validate checks the relations documented on the fields. Errors wrap
// ErrBadConfig.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadConfig}, args...)...)
	}
	switch {
	case c.Interval <= 0:
		return bad("interval %v must be positive", c.Interval)
	case c.LiveWindow < c.Interval:
		return bad("live window %v is shorter than the interval %v", c.LiveWindow, c.Interval)
	case c.Buckets < 1 || c.Buckets > 1<<16:
		return bad("%d buckets, want 1 to 65536", c.Buckets)
	case c.Window <= 0 || c.Window%time.Duration(c.Buckets) != 0:
		return bad("window %v is not a positive multiple of %d buckets", c.Window, c.Buckets)
	}
	bucket := c.Window / time.Duration(c.Buckets)
	switch {
	case bucket%c.Interval != 0:
		return bad("a bucket (%v) is not a whole number of intervals (%v)", bucket, c.Interval)
	case bucket/c.Interval > maxIntervalsPerBucket:
		return bad("a bucket (%v) holds more than %d intervals (%v)", bucket, maxIntervalsPerBucket, c.Interval)
	case math.IsNaN(c.Prior) || c.Prior < 0 || c.Prior > 1:
		return bad("prior %v is not in [0, 1]", c.Prior)
	case c.PriorWeight < 0:
		return bad("prior weight %v is negative", c.PriorWeight)
	case c.MaxStrangers < 0:
		return bad("max strangers %d is negative", c.MaxStrangers)
	}
	return nil
}
