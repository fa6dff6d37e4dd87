//go:build unix

package backup

import (
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSpecialFilesAreSkipped(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	mustWrite(t, filepath.Join(src, "ok.txt"), []byte("fine"), 0o644)
	if err := unix.Mkfifo(filepath.Join(src, "pipe"), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	e := newEnv(t, Options{})
	sum := e.backup(t, src)
	if len(sum.Skipped) != 1 || sum.Skipped[0].Path != filepath.Join(src, "pipe") {
		t.Fatalf("skipped %+v", sum.Skipped)
	}
	if got := listAll(t, e.r, sum.SnapshotID); !slices.Equal(got, []string{"src", "src/ok.txt"}) {
		t.Fatalf("snapshot holds %q", got)
	}
}
