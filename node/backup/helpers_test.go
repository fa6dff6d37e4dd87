package backup

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"respaldo/crypto"
)

// testKeys are a member's keys, made once per test binary (the hybrid
// age identity is slow to derive).
var testRK = func() crypto.RecoveryKey {
	k, err := crypto.GenerateRecoveryKey()
	if err != nil {
		panic(err)
	}
	return k
}()

func memberKeys(t testing.TB) *crypto.MemberKeys { return testRK.Member() }

func writeKeys(t testing.TB, device string) *crypto.WriteKeys {
	t.Helper()
	w, err := testRK.WriteKeys(device)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

type env struct {
	store *MemBlobs
	kv    *MemKV
	w     *Writer
	r     *Reader
}

func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	e := &env{store: NewMemBlobs(), kv: NewMemKV()}
	var err error
	if opts.Host == "" {
		opts.Host = "testhost"
	}
	e.w, err = NewWriter(e.store, e.kv, writeKeys(t, "laptop"), opts)
	if err != nil {
		t.Fatal(err)
	}
	e.r = NewReader(e.store, e.kv, memberKeys(t))
	return e
}

func (e *env) backup(t testing.TB, paths ...string) *Summary {
	t.Helper()
	s, err := e.w.Backup(context.Background(), paths, BackupOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func textBytes(rng *rand.Rand, n int) []byte {
	words := []string{"respaldo", "backup", "mesh", "the", "of", "and", "cooperative", "squat", "shard", "chunk", "pack", "zstd", "a", "to", "in"}
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[rng.IntN(len(words))])
		if rng.IntN(12) == 0 {
			b.WriteString(".\n")
		} else {
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

func mustWrite(t testing.TB, p string, data []byte, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// trickyTree builds the awkward cases a restore gets wrong, under dir/src.
func trickyTree(t testing.TB, dir string) string {
	t.Helper()
	src := filepath.Join(dir, "src")
	// Read-only directories (here and in restored copies) would stop
	// t.TempDir's cleanup when not running as root.
	t.Cleanup(func() {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	rng := rand.New(rand.NewPCG(1, 2))
	mustWrite(t, filepath.Join(src, "a/b/c/deep.txt"), textBytes(rng, 5000), 0o644)
	mustWrite(t, filepath.Join(src, "empty"), nil, 0o644)
	mustWrite(t, filepath.Join(src, "secret.key"), []byte("shh"), 0o600)
	mustWrite(t, filepath.Join(src, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	mustWrite(t, filepath.Join(src, "\xff\xfe.bin"), []byte{0xff, 0xfe, 0, 1}, 0o644)
	mustWrite(t, filepath.Join(src, "ünïcødé 文件.txt"), []byte("unicode"), 0o644)
	mustWrite(t, filepath.Join(src, "big/random.bin"), randBytes(rng, 20<<20), 0o644)
	for i := range 300 {
		mustWrite(t, filepath.Join(src, "small", fmt.Sprintf("f%03d.txt", i)), textBytes(rng, 100+rng.IntN(4000)), 0o644)
	}
	// the same content twice: dedup inside one run
	same := textBytes(rng, 700<<10)
	mustWrite(t, filepath.Join(src, "dup/one.txt"), same, 0o644)
	mustWrite(t, filepath.Join(src, "dup/two.txt"), same, 0o644)
	if err := os.MkdirAll(filepath.Join(src, "empty-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(src, "private"), 0o700); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(src, "private/x"), []byte("x"), 0o644)
	if err := os.Chmod(filepath.Join(src, "private"), 0o700); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(src, "ro/readme"), []byte("read only"), 0o444)
	if err := os.Chmod(filepath.Join(src, "ro"), 0o555); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if err := os.Symlink("a/b/c/deep.txt", filepath.Join(src, "link")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/nonexistent/\xff", filepath.Join(src, "dangling")); err != nil {
			t.Fatal(err)
		}
	}
	// mtimes at ns precision, children before their directories
	base := time.Date(2023, 5, 6, 7, 8, 9, 123456789, time.UTC)
	var paths []string
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
		return nil
	})
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	for i, p := range paths {
		mt := base.Add(time.Duration(i)*time.Hour + time.Duration(i*7919)*time.Nanosecond)
		if err := lutimes(p, mt.UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	return src
}

// sameTree compares two trees: types, modes, mtimes (ns), contents, targets.
func sameTree(t testing.TB, want, got string) {
	t.Helper()
	seen := 0
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		q := filepath.Join(got, rel)
		wi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		gi, err := os.Lstat(q)
		if err != nil {
			t.Errorf("%q: missing: %v", rel, err)
			return nil
		}
		seen++
		if wi.Mode() != gi.Mode() {
			t.Errorf("%q: mode %v, want %v", rel, gi.Mode(), wi.Mode())
		}
		if rel != "." && !wi.ModTime().Equal(gi.ModTime()) {
			t.Errorf("%q: mtime %v, want %v", rel, gi.ModTime().Format(time.RFC3339Nano), wi.ModTime().Format(time.RFC3339Nano))
		}
		switch {
		case wi.Mode().IsRegular():
			a, _ := os.ReadFile(p)
			b, _ := os.ReadFile(q)
			if !bytes.Equal(a, b) {
				t.Errorf("%q: contents differ (%d vs %d bytes)", rel, len(b), len(a))
			}
		case wi.Mode()&fs.ModeSymlink != 0:
			a, _ := os.Readlink(p)
			b, _ := os.Readlink(q)
			if a != b {
				t.Errorf("%q: target %q, want %q", rel, b, a)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	filepath.WalkDir(got, func(string, fs.DirEntry, error) error { n++; return nil })
	if n != seen {
		t.Errorf("restored tree has %d entries, source %d", n, seen)
	}
}

func newRand() *rand.Rand { return rand.New(rand.NewPCG(7, 8)) }

// storedBody is what a pack stores for raw: compressed if worth it.
func storedBody(enc *zstd.Encoder, raw []byte) []byte {
	if c, ok := compress(enc, raw, make([]byte, 0, len(raw))); ok {
		return c
	}
	return raw
}
