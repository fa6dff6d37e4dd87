//go:build unix

package backup

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openFlags open a file found regular by the walk without blocking should
// it have become a FIFO, and without following a symlink that replaced it.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOFOLLOW

// owner returns a file's numeric owner and group.
func owner(fi fs.FileInfo) (uid, gid uint32) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid, st.Gid
	}
	return 0, 0
}

// lutimes sets a path's mtime (and atime) without following a symlink.
func lutimes(p string, mtime int64) error {
	ts := []unix.Timespec{unix.NsecToTimespec(mtime), unix.NsecToTimespec(mtime)}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// lchown sets a path's owner when running as root; otherwise it does
// nothing (a user restores files as their own).
func lchown(p string, uid, gid uint32) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return os.Lchown(p, int(uid), int(gid))
}

// scanBuffer returns an n-byte buffer outside the Go heap, so the readers'
// large, long-lived scan buffers do not count towards the GC's goal (which
// is twice the live heap); free must be called once it is no longer used.
func scanBuffer(n int) (buf []byte, free func()) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n), func() {}
	}
	return b, func() { unix.Munmap(b) }
}
