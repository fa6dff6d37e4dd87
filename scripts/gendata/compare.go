package gendata

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Difference is one way in which a restored tree differs from the original.
type Difference struct {
	Path string // relative to the roots
	What string
}

func (d Difference) String() string { return d.Path + ": " + d.What }

// Compare walks want and got and returns every difference in type, content,
// permission bits, mtime (nanoseconds; of directories too, and of symlinks
// where the OS keeps them) and symlink target, and every entry present on
// one side only. It reads both trees whole, so it is for tests and demos.
func Compare(want, got string) ([]Difference, error) {
	var diffs []Difference
	add := func(p, format string, args ...any) {
		diffs = append(diffs, Difference{Path: p, What: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		seen[rel] = true
		wi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		gp := filepath.Join(got, rel)
		gi, err := os.Lstat(gp)
		if errors.Is(err, fs.ErrNotExist) {
			add(rel, "missing")
			if wi.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if err != nil {
			return err
		}
		if wi.Mode().Type() != gi.Mode().Type() {
			add(rel, "type %v, want %v", gi.Mode().Type(), wi.Mode().Type())
			if wi.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case wi.Mode()&fs.ModeSymlink != 0:
			wt, _ := os.Readlink(p)
			gt, _ := os.Readlink(gp)
			if wt != gt {
				add(rel, "symlink to %q, want %q", gt, wt)
			}
			if runtime.GOOS == "linux" && !wi.ModTime().Equal(gi.ModTime()) {
				add(rel, "symlink mtime %v, want %v", gi.ModTime(), wi.ModTime())
			}
			return nil
		case wi.Mode().IsRegular():
			if wi.Size() != gi.Size() {
				add(rel, "size %d, want %d", gi.Size(), wi.Size())
			} else if same, err := sameContent(p, gp); err != nil {
				return err
			} else if !same {
				add(rel, "content differs")
			}
		}
		if wi.Mode().Perm() != gi.Mode().Perm() {
			add(rel, "mode %v, want %v", gi.Mode().Perm(), wi.Mode().Perm())
		}
		if !wi.ModTime().Equal(gi.ModTime()) {
			add(rel, "mtime %v, want %v", gi.ModTime(), wi.ModTime())
		}
		return nil
	})
	if err != nil {
		return diffs, err
	}
	err = filepath.WalkDir(got, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(got, p)
		if !seen[rel] {
			add(rel, "not in the original")
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	return diffs, err
}

func sameContent(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ba := make([]byte, 1<<20)
	bb := make([]byte, 1<<20)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if ea == io.EOF || ea == io.ErrUnexpectedEOF {
			return eb == io.EOF || eb == io.ErrUnexpectedEOF, nil
		}
		if ea != nil {
			return false, ea
		}
		if eb != nil {
			return false, eb
		}
	}
}
