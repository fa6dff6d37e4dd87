//go:build linux

package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// openDirect is the open flag for reads that bypass the page cache.
const openDirect = unix.O_DIRECT

// setDirect turns O_DIRECT on or off for f. A file system without direct
// I/O refuses with EINVAL.
func setDirect(f *os.File, on bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = rc.Control(func(fd uintptr) {
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		if err != nil {
			ferr = err
			return
		}
		if on {
			fl |= unix.O_DIRECT
		} else {
			fl &^= unix.O_DIRECT
		}
		_, ferr = unix.FcntlInt(fd, unix.F_SETFL, fl)
	})
	if err != nil {
		return err
	}
	return ferr
}
