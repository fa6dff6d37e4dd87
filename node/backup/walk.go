package backup

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// dirJob is a directory listed by the walker; the tree builder turns it
// into a tree once its files are read. Directories reach the tree builder
// in post-order, so a subdirectory's tree ID is known before its parent's.
type dirJob struct {
	path    string
	entries []pendingNode
	tree    [idLen]byte // set by the tree builder
}

// pendingNode is a node whose file contents may still be being read.
type pendingNode struct {
	n    node
	file *fileJob
	dir  *dirJob
}

// fileJob is a regular file to read; done is closed when the fields are set.
type fileJob struct {
	path   string
	rd     io.Reader // read this instead of opening path (standard input)
	done   chan struct{}
	size   int64
	chunks []byte
	err    error // the file was skipped
}

// walk lists roots depth-first, sends files to the file workers and
// directories (post-order, the virtual root last) to the tree builder.
func (r *run) walk(ctx context.Context, roots []string) error {
	root := &dirJob{path: "/"}
	if r.o.Stdin != nil {
		j := &fileJob{path: r.o.StdinName, rd: r.o.Stdin, done: make(chan struct{})}
		n := node{Name: []byte(r.o.StdinName), Type: NodeFile, Mode: 0o600, MTime: r.w.opts.Now().UnixNano()}
		root.entries = append(root.entries, pendingNode{n: n, file: j})
		if err := send(ctx, r.fileJobs, j); err != nil {
			return err
		}
		return send(ctx, r.dirQ, root)
	}
	used := make(map[string]bool)
	for _, p := range roots {
		fi, err := os.Lstat(p)
		if err != nil {
			r.skip(p, err)
			continue
		}
		pn, err := r.entry(ctx, p, rootName(p, used), fi, nil)
		if err != nil {
			return err
		}
		if pn != nil {
			root.entries = append(root.entries, *pn)
		}
	}
	slices.SortFunc(root.entries, func(a, b pendingNode) int { return strings.Compare(string(a.n.Name), string(b.n.Name)) })
	return send(ctx, r.dirQ, root)
}

// rootName names a backed-up path in the root tree: its base name, with
// "-2", "-3"... when two paths share one.
func rootName(p string, used map[string]bool) string {
	base := filepath.Base(p)
	if base == string(filepath.Separator) || base == "." || base == "" || !safeName([]byte(base)) {
		base = "root"
	}
	name := base
	for i := 2; used[name]; i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	used[name] = true
	return name
}

// entry makes the node of one directory entry; nil when it is left out.
func (r *run) entry(ctx context.Context, p, name string, fi fs.FileInfo, ig *ignores) (*pendingNode, error) {
	n := node{Name: []byte(name), Mode: unixMode(fi.Mode()), MTime: fi.ModTime().UnixNano()}
	n.UID, n.GID = owner(fi)
	switch m := fi.Mode(); {
	case m.IsRegular():
		n.Type = NodeFile
		j := &fileJob{path: p, done: make(chan struct{})}
		r.totalFiles.Add(1)
		r.totalBytes.Add(fi.Size())
		// Read even files whose size is 0: pseudo-files have content.
		if err := send(ctx, r.fileJobs, j); err != nil {
			return nil, err
		}
		return &pendingNode{n: n, file: j}, nil
	case m.IsDir():
		n.Type = NodeDir
		d, err := r.walkDir(ctx, p, ig)
		if d == nil || err != nil {
			return nil, err
		}
		return &pendingNode{n: n, dir: d}, nil
	case m&fs.ModeSymlink != 0:
		t, err := os.Readlink(p)
		if err != nil || t == "" {
			r.skip(p, cmpErr(err, "empty symlink"))
			return nil, nil
		}
		n.Type = NodeSymlink
		n.Target = []byte(t)
		return &pendingNode{n: n}, nil
	case m&fs.ModeSocket != 0:
		return nil, nil // meaningless once restored
	default:
		r.skip(p, fmt.Errorf("special file (%v) not backed up", m.Type()))
		return nil, nil
	}
}

func cmpErr(err error, otherwise string) error {
	if err != nil {
		return err
	}
	return errors.New(otherwise)
}

// walkDir lists a directory and its entries; nil when it cannot be read.
func (r *run) walkDir(ctx context.Context, p string, ig *ignores) (*dirJob, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		r.skip(p, err)
		return nil, nil
	}
	if !r.o.NoIgnoreFiles && slices.ContainsFunc(ents, func(e fs.DirEntry) bool { return e.Name() == IgnoreFile }) {
		ig = readIgnores(p, ig)
	}
	d := &dirJob{path: p, entries: make([]pendingNode, 0, len(ents))}
	for _, e := range ents {
		name := e.Name()
		cp := filepath.Join(p, name)
		if r.excluded(cp, name, e.IsDir(), ig) {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // vanished since listed
		}
		if err != nil {
			r.skip(cp, err)
			continue
		}
		pn, err := r.entry(ctx, cp, name, fi, ig)
		if err != nil {
			return nil, err
		}
		if pn != nil {
			d.entries = append(d.entries, *pn)
		}
	}
	r.dirs.Add(1)
	return d, send(ctx, r.dirQ, d)
}

func (r *run) excluded(p, name string, isDir bool, ig *ignores) bool {
	for _, pat := range r.o.Exclude {
		if ok, _ := filepath.Match(pat, name); ok {
			return true
		}
		if ok, _ := filepath.Match(pat, p); ok {
			return true
		}
	}
	return ig.match(p, name, isDir)
}

// ignores are the patterns of the ignore files of a directory and its
// ancestors.
type ignores struct {
	dir    string
	pats   []string
	parent *ignores
}

func readIgnores(dir string, parent *ignores) *ignores {
	f, err := os.Open(filepath.Join(dir, IgnoreFile))
	if err != nil {
		return parent
	}
	defer f.Close()
	ig := &ignores{dir: dir, parent: parent}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, err := filepath.Match(line, ""); err == nil {
			ig.pats = append(ig.pats, line)
		}
	}
	return ig
}

// match reports whether a pattern of ig or its ancestors covers path. A
// pattern ending in '/' matches directories only; one containing another
// '/' is matched against the path relative to its ignore file's directory.
func (ig *ignores) match(path, name string, isDir bool) bool {
	for i := ig; i != nil; i = i.parent {
		for _, pat := range i.pats {
			if strings.HasSuffix(pat, "/") {
				if !isDir {
					continue
				}
				pat = strings.TrimSuffix(pat, "/")
			}
			subject := name
			if strings.Contains(pat, "/") {
				rel, err := filepath.Rel(i.dir, path)
				if err != nil {
					continue
				}
				subject, pat = filepath.ToSlash(rel), strings.TrimPrefix(pat, "/")
			}
			if ok, _ := filepath.Match(pat, subject); ok {
				return true
			}
		}
	}
	return false
}
