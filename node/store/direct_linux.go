//go:build linux

package store

import (
	"fmt"
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

// probeDirect says whether shard files in dir can use direct I/O at
// fileAlign, from the alignment the kernel reports for a new file there
// (statx STATX_DIOALIGN, Linux 6.1 and later on most local file systems).
// Where nothing is reported it says yes: a refusal then shows at the first
// write or read, and the store stops (writeDirect, readFileInto).
func probeDirect(dir string) (ok bool, why string) {
	f, err := os.CreateTemp(dir, tmpPrefix+"probe-*")
	if err != nil {
		return true, ""
	}
	defer os.Remove(f.Name())
	defer f.Close()
	var st unix.Statx_t
	if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_DIOALIGN, &st); err != nil || st.Mask&unix.STATX_DIOALIGN == 0 {
		return true, ""
	}
	switch {
	case st.Dio_offset_align == 0:
		return false, "the file system offers no direct I/O"
	case st.Dio_offset_align > fileAlign || st.Dio_mem_align > fileAlign:
		return false, fmt.Sprintf("direct I/O there needs %d-byte offsets and %d-byte buffers, more than %d", st.Dio_offset_align, st.Dio_mem_align, fileAlign)
	}
	return true, ""
}
