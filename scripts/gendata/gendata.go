// Package gendata writes a reproducible, mixed data set for benchmarks, the
// demo and end-to-end tests: small compressible text files in nested folders,
// medium random (incompressible) files, and large files in which blocks
// repeat, plus the awkward cases a backup must keep (empty files, an empty
// folder, symlinks, odd modes). The same seed and size give the same bytes,
// names, modes and mtimes on every machine.
package gendata

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

// Mix is the share of the total size given to each kind of file.
type Mix struct {
	Text, Random, Repeated float64
}

// DefaultMix is a third of each: text compresses about 3x with zstd, random
// data not at all, and repeated blocks dedup within and across files.
var DefaultMix = Mix{Text: 0.30, Random: 0.35, Repeated: 0.35}

// Stats says what Generate wrote.
type Stats struct {
	Files, Dirs, Symlinks int
	Bytes                 int64
}

// Generate fills dir (created if missing) with about total bytes of files
// drawn from seed. It is deterministic: the same arguments give the same tree.
func Generate(dir string, total int64, seed uint64, mix Mix) (Stats, error) {
	g := &gen{
		rng:  rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		root: dir,
		// A fixed base time keeps mtimes reproducible.
		base: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, err
	}
	steps := []struct {
		share float64
		fn    func(int64) error
	}{
		{mix.Text, g.textFiles},
		{mix.Random, g.randomFiles},
		{mix.Repeated, g.repeatedFiles},
	}
	for _, s := range steps {
		if err := s.fn(int64(float64(total) * s.share)); err != nil {
			return g.st, err
		}
	}
	if err := g.oddities(); err != nil {
		return g.st, err
	}
	return g.st, nil
}

type gen struct {
	rng  *rand.Rand
	root string
	base time.Time
	st   Stats
}

func (g *gen) mtime() time.Time {
	return g.base.Add(time.Duration(g.rng.Int64N(int64(400 * 24 * time.Hour))))
}

// textFiles writes files of 1 to 64 KiB in a tree three folders deep.
func (g *gen) textFiles(budget int64) error {
	for n := 0; budget > 0; n++ {
		d := filepath.Join(g.root, "docs", fmt.Sprintf("d%02d", n%17), fmt.Sprintf("s%03d", n%211))
		size := min(budget, 1<<10+g.rng.Int64N(63<<10))
		name := filepath.Join(d, fmt.Sprintf("note-%05d.txt", n))
		if err := g.writeFile(name, size, 0o644, g.text); err != nil {
			return err
		}
		budget -= size
	}
	return nil
}

// randomFiles writes incompressible files of 1 to 16 MiB, as photos are.
func (g *gen) randomFiles(budget int64) error {
	for n := 0; budget > 0; n++ {
		size := min(budget, 1<<20+g.rng.Int64N(15<<20))
		name := filepath.Join(g.root, "photos", fmt.Sprintf("img-%04d.raw", n))
		if err := g.writeFile(name, size, 0o600, g.random); err != nil {
			return err
		}
		budget -= size
	}
	return nil
}

// repeatedFiles writes large files made of 256 KiB blocks, a third of which
// repeat an earlier block of any such file (as VM images and logs do), half
// text and half random otherwise.
func (g *gen) repeatedFiles(budget int64) error {
	const block = 256 << 10
	var pool [][]byte
	for n := 0; budget > 0; n++ {
		size := min(budget, 32<<20+g.rng.Int64N(96<<20))
		name := filepath.Join(g.root, "images", fmt.Sprintf("disk-%02d.img", n))
		err := g.writeFile(name, size, 0o644, func(w *bufio.Writer, size int64) error {
			for size > 0 {
				var b []byte
				switch r := g.rng.IntN(6); {
				case r < 2 && len(pool) > 0:
					b = pool[g.rng.IntN(len(pool))]
				case r < 4:
					b = make([]byte, block)
					g.fillText(b)
				default:
					b = make([]byte, block)
					g.fillRandom(b)
				}
				if len(pool) < 256 {
					pool = append(pool, b)
				}
				n := min(size, int64(len(b)))
				if _, err := w.Write(b[:n]); err != nil {
					return err
				}
				size -= n
			}
			return nil
		})
		if err != nil {
			return err
		}
		budget -= size
	}
	return nil
}

// oddities adds what a restore most often gets wrong.
func (g *gen) oddities() error {
	odd := filepath.Join(g.root, "odd")
	for _, d := range []string{odd, filepath.Join(odd, "empty-dir"), filepath.Join(odd, "ünïcødé 文件夹")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		g.st.Dirs++
	}
	files := []struct {
		name string
		size int64
		mode os.FileMode
	}{
		{"empty", 0, 0o644},
		{"script.sh", 300, 0o755},
		{"private.key", 2000, 0o600},
		{"ünïcødé 文件夹/naïve résumé.txt", 5000, 0o644},
		{"name\xff\xfebinary.bin", 4000, 0o640},
	}
	for _, f := range files {
		if err := g.writeFile(filepath.Join(odd, f.name), f.size, f.mode, g.text); err != nil {
			return err
		}
	}
	for _, l := range []struct{ name, target string }{
		{"link-to-script", "script.sh"},
		{"dangling-link", "does/not/exist"},
		{"link-up", "../docs"},
	} {
		p := filepath.Join(odd, l.name)
		if err := os.Symlink(l.target, p); err != nil {
			return err
		}
		g.st.Symlinks++
	}
	// Folder mtimes last: writing files into a folder changes its mtime.
	return filepath.WalkDir(g.root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		t := g.mtime()
		return os.Chtimes(p, t, t)
	})
}

func (g *gen) writeFile(name string, size int64, mode os.FileMode, fill func(*bufio.Writer, int64) error) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := fill(w, size); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(name, mode); err != nil {
		return err
	}
	t := g.mtime()
	if err := os.Chtimes(name, t, t); err != nil {
		return err
	}
	g.st.Files++
	g.st.Bytes += size
	return nil
}

func (g *gen) random(w *bufio.Writer, size int64) error {
	buf := make([]byte, 64<<10)
	for size > 0 {
		n := min(size, int64(len(buf)))
		g.fillRandom(buf[:n])
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
		size -= n
	}
	return nil
}

func (g *gen) text(w *bufio.Writer, size int64) error {
	buf := make([]byte, 64<<10)
	for size > 0 {
		n := min(size, int64(len(buf)))
		g.fillText(buf[:n])
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
		size -= n
	}
	return nil
}

func (g *gen) fillRandom(b []byte) {
	for i := 0; i+8 <= len(b); i += 8 {
		v := g.rng.Uint64()
		b[i], b[i+1], b[i+2], b[i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		b[i+4], b[i+5], b[i+6], b[i+7] = byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56)
	}
	for i := len(b) &^ 7; i < len(b); i++ {
		b[i] = byte(g.rng.Uint32())
	}
}

// fillText writes words from a fixed vocabulary in lines, which zstd
// compresses about as well as prose or source code (3x to 4x).
func (g *gen) fillText(b []byte) {
	i := 0
	col := 0
	for i < len(b) {
		w := vocabulary[g.rng.IntN(len(vocabulary))]
		if g.rng.IntN(9) == 0 {
			w = fmt.Sprint(g.rng.IntN(100000))
		}
		i += copy(b[i:], w)
		col += len(w)
		if i >= len(b) {
			break
		}
		if col > 72 {
			b[i] = '\n'
			col = 0
		} else {
			b[i] = ' '
		}
		i++
	}
}

var vocabulary = []string{
	"the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with",
	"be", "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which",
	"but", "have", "an", "had", "they", "you", "were", "their", "one", "all", "we",
	"can", "her", "has", "there", "been", "if", "more", "when", "will", "would", "who",
	"so", "no", "cooperative", "assembly", "members", "meeting", "minutes", "budget",
	"housing", "rent", "union", "strike", "press", "source", "interview", "report",
	"archive", "evidence", "witness", "lawyer", "court", "police", "statement",
	"protocol", "node", "backup", "server", "squat", "laptop", "recovery", "invoice",
	"func", "return", "err", "nil", "if", "for", "range", "struct", "string", "int",
	"package", "import", "type", "var", "const", "map", "chan", "go", "defer", "{", "}",
	"(", ")", ":=", "==", "!=", "//", "TODO", "FIXME", "2024-03-01", "INFO", "WARN",
}
