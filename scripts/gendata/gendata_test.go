package gendata

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestGenerateIsReproducibleAndCompareFindsChanges(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	sa, err := Generate(a, 3<<20, 7, DefaultMix)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Generate(b, 3<<20, 7, DefaultMix)
	if err != nil {
		t.Fatal(err)
	}
	if sa != sb || sa.Files < 10 || sa.Symlinks != 3 {
		t.Fatalf("stats %+v vs %+v", sa, sb)
	}
	d, err := Compare(a, b)
	if err != nil {
		t.Fatal(err)
	}
	// Symlink mtimes are the moment of creation, so only they may differ.
	for _, x := range d {
		if fi, _ := os.Lstat(filepath.Join(a, x.Path)); fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("same seed differs: %v", x)
		}
	}

	// Each kind of damage is found.
	txt := filepath.Join(b, "odd", "script.sh")
	if err := os.WriteFile(txt, []byte("changed"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(b, "odd", "private.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(b, "odd", "empty"), time.Unix(1, 0), time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(b, "odd", "dangling-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, "extra"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err = Compare(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"odd/script.sh": false, "odd/private.key": false, "odd/empty": false, "odd/dangling-link": false, "extra": false}
	for _, x := range d {
		if _, ok := want[x.Path]; ok {
			want[x.Path] = true
		}
	}
	for p, found := range want {
		if !found {
			t.Errorf("damage to %s not found; differences: %v", p, d)
		}
	}
}
