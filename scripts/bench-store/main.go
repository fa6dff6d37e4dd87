// Command bench-store measures a holder's shard store writing and reading
// shards with direct I/O against through the page cache (store.Options
// PageCache): go run ./scripts/bench-store [-size 1GiB] [-rounds 3].
//
// Each round opens a fresh store of each kind (alternating which goes
// first) and puts the same stripes of 4+2 shards of 2 MiB, each from an
// aligned buffer as a holder receives it, then reads every shard back as a
// peer's get does (ReadLent). It prints wall seconds, this process's CPU
// seconds and the whole machine's busy CPU seconds (writeback by kernel
// threads included) of each step, then the medians. Nothing is deleted
// before the end: on the project's virtual machines writing right after a
// deletion costs more (docs/performance.md), so the run needs about
// 2 x rounds x size of free disk under -dir.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"respaldo/erasure"
	"respaldo/node/store"
)

func main() {
	size := flag.String("size", "1GiB", "shard bytes put per store and round (KiB, MiB or GiB suffix)")
	rounds := flag.Int("rounds", 3, "rounds; each opens one store of each kind")
	dir := flag.String("dir", "", "where the stores go (default: a new folder under the temp dir)")
	flag.Parse()
	total, err := parseSize(*size)
	if err != nil || *rounds < 1 {
		fmt.Fprintln(os.Stderr, "bench-store: bad -size or -rounds")
		os.Exit(2)
	}
	if *dir == "" {
		if *dir, err = os.MkdirTemp("", "bench-store-"); err != nil {
			fail(err)
		}
	}
	defer os.RemoveAll(*dir)
	if err := run(*dir, total, *rounds); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-store:", err)
	os.Exit(1)
}

type stripe struct {
	d      *erasure.Descriptor
	shards [][]byte
}

func run(dir string, total int64, rounds int) error {
	const shard = 2 << 20
	n := max(1, int(total/(6*shard)))
	fmt.Printf("making %d stripes of 4+2 shards of 2 MiB (%d MiB of shards)\n", n, n*6*2)
	stripes := make([]stripe, n)
	for i := range stripes {
		blob := make([]byte, 4*shard)
		rand.Read(blob)
		var sec erasure.Secrets
		rand.Read(sec.Nonce[:])
		d, shards, err := erasure.Encode(blob, erasure.Params{K: 4, M: 2}, sec)
		if err != nil {
			return err
		}
		for j, sh := range shards {
			shards[j] = append(store.AlignedBuffer(len(sh))[:0], sh...)
		}
		stripes[i] = stripe{d, shards}
	}
	figures := map[string][]float64{}
	for r := range rounds {
		modes := []bool{false, true}
		if r%2 == 1 {
			modes = []bool{true, false}
		}
		for _, pageCache := range modes {
			name := "direct"
			if pageCache {
				name = "page cache"
			}
			opts := store.DefaultOptions()
			opts.PageCache = pageCache
			s, err := store.Open(filepath.Join(dir, fmt.Sprintf("%d-%t", r, pageCache)), opts)
			if err != nil {
				return err
			}
			settle()
			put := measure(func() error {
				for _, st := range stripes {
					for j, sh := range st.shards {
						if err := s.Put(context.Background(), st.d, j, sh); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if put.err != nil {
				return put.err
			}
			settle()
			get := measure(func() error {
				for _, st := range stripes {
					for j := range st.shards {
						_, release, err := store.ReadLent(context.Background(), s, store.ShardRef{Stripe: st.d.ID(), Index: j})
						if err != nil {
							return err
						}
						release()
					}
				}
				return nil
			})
			if err := s.Close(); err != nil {
				return err
			}
			if get.err != nil {
				return get.err
			}
			fmt.Printf("round %d %-10s put %5.2f s, CPU s %5.2f (machine %5.2f); read %5.2f s, CPU s %5.2f (machine %5.2f)\n",
				r+1, name, put.wall, put.cpu, put.machine, get.wall, get.cpu, get.machine)
			for k, v := range map[string]float64{"put s": put.wall, "put CPU s": put.cpu, "put machine CPU s": put.machine,
				"read s": get.wall, "read CPU s": get.cpu, "read machine CPU s": get.machine} {
				figures[name+" "+k] = append(figures[name+" "+k], v)
			}
		}
	}
	fmt.Printf("medians over %d rounds of %d MiB of shards:\n", rounds, n*6*2)
	keys := []string{"put s", "put CPU s", "put machine CPU s", "read s", "read CPU s", "read machine CPU s"}
	fmt.Printf("%-12s", "")
	for _, k := range keys {
		fmt.Printf("  %s", k)
	}
	fmt.Println()
	for _, name := range []string{"page cache", "direct"} {
		fmt.Printf("%-12s", name)
		for _, k := range keys {
			fmt.Printf("  %*.2f", len(k), median(figures[name+" "+k]))
		}
		fmt.Println()
	}
	return nil
}

type result struct {
	wall, cpu, machine float64
	err                error
}

func measure(f func() error) result {
	c0, m0 := cpu()
	t0 := time.Now()
	err := f()
	wall := time.Since(t0).Seconds()
	c1, m1 := cpu()
	return result{wall, c1 - c0, m1 - m0, err}
}

// cpu returns this process's CPU seconds and the machine's busy CPU
// seconds (from /proc/stat; 0 where there is none).
func cpu() (self, machine float64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return self, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for i, f := range strings.Fields(line)[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		v, _ := strconv.ParseFloat(f, 64)
		machine += v / 100 // USER_HZ
	}
	return self, machine
}

// settle lets the previous step's writeback finish before the next.
func settle() {
	syscall.Sync()
	time.Sleep(2 * time.Second)
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suf, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if t, ok := strings.CutSuffix(s, suf); ok {
			s, mult = t, m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}
