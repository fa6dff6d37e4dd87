//go:build linux || darwin || freebsd

package store

import "syscall"

// fsFree returns the bytes available to an unprivileged user on the
// filesystem holding path.
func fsFree(path string) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}
