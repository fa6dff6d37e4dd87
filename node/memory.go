package node

import (
	"os"
	"runtime/debug"
)

// DefaultMemoryLimit is the soft memory limit a respaldo process sets for
// the Go runtime unless GOMEMLIMIT says otherwise. A backup's live heap is
// about 70 MB (a few packs in flight); without a limit the collector lets
// the heap grow to twice that. Near the limit the collector simply works
// harder (measured: no loss of backup throughput at 96 MiB); it never fails
// an allocation because of it. See docs/performance.md.
const DefaultMemoryLimit = 128 << 20

// ApplyMemoryLimit sets the runtime's soft memory limit to limit bytes
// (DefaultMemoryLimit when limit is 0; none when negative) unless the
// GOMEMLIMIT environment variable is set, which wins. It returns the limit
// in force.
func ApplyMemoryLimit(limit int64) int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1) // -1 reads the current value
	}
	switch {
	case limit == 0:
		limit = DefaultMemoryLimit
	case limit < 0:
		return debug.SetMemoryLimit(-1)
	}
	debug.SetMemoryLimit(limit)
	return limit
}
