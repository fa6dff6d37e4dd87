package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// mountTmpfs mounts a tmpfs of size bytes at a new folder, unmounted at the
// test's end; it skips the test where that cannot be done.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skipf("needs root on Linux to mount a small tmpfs (GOOS %s, euid %d)", runtime.GOOS, os.Geteuid())
	}
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// A disk that fills up during a restore: the error is one line that names
// the file cut short and says the disk is full, and nothing under the
// target is a file that is not whole: every file there has the bytes of
// its original, and no temporary is left.
func TestRestoreDiskFull(t *testing.T) {
	disk := mountTmpfs(t, 3<<20)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	rng := newRand()
	want := map[string][]byte{} // path relative to the target → contents
	add := func(rel string, b []byte) {
		mustWrite(t, filepath.Join(dir, rel), b, 0o644)
		want[rel] = b
	}
	for i := range 10 {
		add(fmt.Sprintf("src/small/f%02d.txt", i), textBytes(rng, 2000+i*100))
	}
	for i := range 6 {
		// incompressible: what the disk gets is what the file is
		add(fmt.Sprintf("src/big/b%d.bin", i), randBytes(rng, 1<<20+i*4096))
	}
	e := newEnv(t, Options{})
	sum := e.backup(t, src)
	target := filepath.Join(disk, "restore")
	_, err := e.r.Restore(context.Background(), sum.SnapshotID, target, RestoreOptions{})
	if err == nil {
		t.Fatal("a restore of 6 MiB into a 3 MiB disk succeeded")
	}
	msg := err.Error()
	t.Logf("the error: %s", msg)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("the error is not ENOSPC: %v", err)
	}
	if !strings.Contains(msg, "no space left on device") || strings.ContainsAny(msg, "\r\n") {
		t.Errorf("the error is not one line saying the disk is full: %q", msg)
	}
	if strings.Contains(msg, ".part") {
		t.Errorf("the error names a temporary, not the file: %q", msg)
	}
	named := false
	for rel := range want {
		if strings.Contains(msg, filepath.Join(target, rel)+":") {
			named = true
		}
	}
	if !named {
		t.Errorf("the error names no file of the snapshot: %q", msg)
	}

	files := 0
	err = filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(target, p)
		if d.IsDir() {
			return nil
		}
		w, ok := want[rel]
		if !ok {
			t.Errorf("%s: left in the target, not in the snapshot", rel)
			return nil
		}
		got, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, w) {
			t.Errorf("%s: left under its name with %d of %d bytes, not its original's", rel, len(got), len(w))
			return nil
		}
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == len(want) {
		t.Errorf("every file restored whole: the disk did not fill up")
	}
	t.Logf("%d of %d files whole in the target after the disk filled up", files, len(want))
}
