package backup

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// mixedTree writes about total bytes of the benchmark mix under dir, as
// scripts/gendata does: 30% small text files (1-64 KiB) in nested folders,
// 35% random files (1-16 MiB), 35% large files of 256 KiB blocks of which
// a third repeat an earlier block, the rest half text, half random.
func mixedTree(t testing.TB, dir string, total int64) int64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(42, 43))
	var sum int64
	for n, budget := 0, total*30/100; budget > 0; n++ {
		size := min(budget, 1<<10+rng.Int64N(63<<10))
		p := filepath.Join(dir, "docs", fmt.Sprintf("d%02d", n%17), fmt.Sprintf("s%03d", n%211), fmt.Sprintf("note-%05d.txt", n))
		mustWrite(t, p, textBytes(rng, int(size)), 0o644)
		budget -= size
		sum += size
	}
	for n, budget := 0, total*35/100; budget > 0; n++ {
		size := min(budget, 1<<20+rng.Int64N(15<<20))
		mustWrite(t, filepath.Join(dir, "photos", fmt.Sprintf("img-%04d.raw", n)), randBytes(rng, int(size)), 0o600)
		budget -= size
		sum += size
	}
	const block = 256 << 10
	var pool [][]byte
	for n, budget := 0, total*35/100; budget > 0; n++ {
		size := min(budget, 32<<20+rng.Int64N(96<<20))
		var b bytes.Buffer
		for int64(b.Len()) < size {
			var blk []byte
			switch r := rng.IntN(6); {
			case r < 2 && len(pool) > 0:
				blk = pool[rng.IntN(len(pool))]
			case r < 4:
				blk = textBytes(rng, block)
			default:
				blk = randBytes(rng, block)
			}
			if len(pool) < 256 {
				pool = append(pool, blk)
			}
			b.Write(blk)
		}
		mustWrite(t, filepath.Join(dir, "images", fmt.Sprintf("disk-%02d.img", n)), b.Bytes()[:size], 0o644)
		budget -= size
		sum += size
	}
	return sum
}

var (
	benchOnce sync.Once
	benchDir  string
	benchSize int64
)

// benchTree is generated once per test binary, in RESPALDO_BENCH_DIR if set
// (kept), else in a temporary directory; RESPALDO_BENCH_MB sets its size
// (default 256).
func benchTree(b *testing.B) (string, int64) {
	benchOnce.Do(func() {
		mb := int64(256)
		if s := os.Getenv("RESPALDO_BENCH_MB"); s != "" {
			mb, _ = strconv.ParseInt(s, 10, 64)
		}
		benchDir = os.Getenv("RESPALDO_BENCH_DIR")
		if benchDir == "" {
			d, err := os.MkdirTemp("", "respaldo-bench-")
			if err != nil {
				b.Fatal(err)
			}
			benchDir = d
		}
		stamp := filepath.Join(benchDir, fmt.Sprintf(".done-%d", mb))
		if st, err := os.ReadFile(stamp); err == nil {
			benchSize, _ = strconv.ParseInt(string(st), 10, 64)
			return
		}
		benchSize = mixedTree(b, filepath.Join(benchDir, "data"), mb<<20)
		os.WriteFile(stamp, []byte(strconv.FormatInt(benchSize, 10)), 0o644)
	})
	return filepath.Join(benchDir, "data"), benchSize
}

func BenchmarkBackupLocal(b *testing.B) {
	dir, size := benchTree(b)
	b.SetBytes(size)
	b.ResetTimer()
	var sum *Summary
	for b.Loop() {
		e := newEnv(b, Options{})
		var err error
		sum, err = e.w.Backup(context.Background(), []string{dir}, BackupOptions{})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(sum.StoredBytes)/float64(size), "stored/byte")
}

func BenchmarkChunker(b *testing.B) {
	data := randBytes(rand.New(rand.NewPCG(1, 1)), 64<<20)
	c, err := newChunker(testRK.Member().ChunkerKey(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c.reset(bytes.NewReader(data))
		for {
			if _, err := c.next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkRestoreLocal(b *testing.B) {
	dir, size := benchTree(b)
	e := newEnv(b, Options{})
	sum, err := e.w.Backup(context.Background(), []string{dir}, BackupOptions{})
	if err != nil {
		b.Fatal(err)
	}
	out := b.TempDir()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		target := filepath.Join(out, strconv.Itoa(i))
		if _, err := e.r.Restore(context.Background(), sum.SnapshotID, target, RestoreOptions{}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(target)
		b.StartTimer()
	}
}
