// Command gen-data writes the reproducible mixed data set that benchmarks and
// end-to-end tests back up: go run ./scripts/gen-data -out DIR -size 1GiB.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"respaldo/scripts/gendata"
)

func main() {
	out := flag.String("out", "", "folder to fill (created; must not exist or be empty)")
	size := flag.String("size", "1GiB", "total size: a number with an optional KiB, MiB or GiB suffix")
	seed := flag.Uint64("seed", 1, "random seed; the same seed gives the same tree")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen-data: -out DIR is required")
		os.Exit(2)
	}
	n, err := parseSize(*size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen-data:", err)
		os.Exit(2)
	}
	if ents, err := os.ReadDir(*out); err == nil && len(ents) > 0 {
		fmt.Fprintf(os.Stderr, "gen-data: %s is not empty\n", *out)
		os.Exit(1)
	}
	st, err := gendata.Generate(*out, n, *seed, gendata.DefaultMix)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen-data:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d files, %d symlinks, %d bytes to %s (seed %d)\n", st.Files, st.Symlinks, st.Bytes, *out, *seed)
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			mult, s = u.m, strings.TrimSuffix(s, u.suffix)
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q: want e.g. 512MiB", s)
	}
	return n * mult, nil
}
