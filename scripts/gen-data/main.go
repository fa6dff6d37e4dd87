// Command gen-data writes the reproducible mixed data set that benchmarks and
// end-to-end tests back up: go run ./scripts/gen-data -out DIR -size 1GiB.
//
// With -compare WANT GOT it writes nothing: it compares a restored tree GOT
// with the original WANT (type, content, permission bits, mtimes, symlink
// targets, entries on one side only: gendata.Compare), prints each
// difference and exits 1 if there is any, 0 if the trees are the same.
package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"respaldo/scripts/gendata"
)

func main() {
	out := flag.String("out", "", "folder to fill (created; must not exist or be empty)")
	size := flag.String("size", "1GiB", "total size: a number with an optional KiB, MiB or GiB suffix")
	seed := flag.Uint64("seed", 1, "random seed; the same seed gives the same tree")
	compare := flag.Bool("compare", false, "compare two trees instead: gen-data -compare WANT GOT")
	flag.Parse()
	if *compare {
		os.Exit(compareTrees(flag.Args()))
	}
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

// compareTrees runs -compare WANT GOT and returns the exit code.
func compareTrees(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "gen-data: usage: gen-data -compare WANT GOT")
		return 2
	}
	for _, d := range args {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			fmt.Fprintf(os.Stderr, "gen-data: -compare: %s is not a folder\n", d)
			return 2
		}
	}
	diffs, err := gendata.Compare(args[0], args[1])
	const show = 20
	for i, d := range diffs {
		if i == show {
			fmt.Printf("... and %d more differences\n", len(diffs)-show)
			break
		}
		fmt.Println(d)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen-data: -compare:", err)
		return 1
	}
	if len(diffs) > 0 {
		fmt.Printf("%s and %s differ in %d ways\n", args[0], args[1], len(diffs))
		return 1
	}
	n := 0
	_ = filepath.WalkDir(args[0], func(string, fs.DirEntry, error) error { n++; return nil })
	fmt.Printf("same: %d entries of %s and %s match (contents, modes, mtimes, symlinks)\n", n, args[0], args[1])
	return 0
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
