package node

import (
	"os"
	"runtime/debug"
)

// DefaultMemoryLimit is the soft memory limit a respaldo process sets for
// the Go runtime unless GOMEMLIMIT says otherwise. A backup's live heap is
// about 75 MB (three packs in flight with their parity, chunk pages,
// badger's memtable); without a limit the collector lets the heap grow to
// twice that, and the limit is then what sets the peak RSS. Near the limit
// the collector simply works harder; it never fails an allocation because
// of it. 128 MiB gave a member node a 148 MiB peak during a 1 GiB backup
// through the mesh, 100 MiB (with the smaller live heap) 135–137 MiB at the
// same speed. See docs/performance.md.
const DefaultMemoryLimit = 100 << 20

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
