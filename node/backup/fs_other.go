//go:build !unix

package backup

import (
	"fmt"
	"io/fs"
	"os"
	"time"
)

func openFile(p string) (*os.File, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is no longer a regular file", p)
	}
	return f, nil
}

func owner(fs.FileInfo) (uid, gid uint32) { return 0, 0 }

// lutimes sets the mtime of files and directories; a symlink's own time
// cannot be set here and is left as created.
func lutimes(p string, mtime int64) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil
	}
	t := time.Unix(0, mtime)
	return os.Chtimes(p, t, t)
}

func lchown(string, uint32, uint32) error { return nil }

func scanBuffer(n int) (buf []byte, free func()) { return make([]byte, n), func() {} }
