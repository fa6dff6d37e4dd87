//go:build !(linux || darwin || freebsd)

package store

// fsFree cannot read the filesystem's free space on this platform: only the
// configured capacity limits a DiskStore here.
func fsFree(string) (int64, bool) { return 0, false }
