package backup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync/atomic"
	"time"

	"respaldo/crypto"
	"respaldo/erasure"
)

// ErrTargetNotEmpty: Restore was given a target directory that has entries,
// without Overwrite.
var ErrTargetNotEmpty = errors.New("backup: restore target is not empty (allow overwriting to restore into it)")

// RestoreOptions configure a restore.
type RestoreOptions struct {
	// Overwrite allows a non-empty target: files and symlinks in the way
	// are replaced, directories reused. A directory in the way of a file is
	// an error.
	Overwrite bool
	// Include restricts the restore to entries whose path (as in Entry.Path)
	// or a parent's path matches one of these patterns (path.Match).
	Include []string
	// Workers is the number of packs fetched and written at once; default 4
	// (each holds a pack of up to 8 MiB, its shards and its plaintext).
	Workers int
}

// RestoreSummary is the result of a restore.
type RestoreSummary struct {
	Files    int64         `json:"files"`
	Dirs     int64         `json:"dirs"`
	Symlinks int64         `json:"symlinks"`
	Bytes    int64         `json:"bytes"`
	Duration time.Duration `json:"duration"`
}

// Restore writes snapshot snap into target (created if missing) byte for
// byte: contents, modes, mtimes (of symlinks too where the OS allows;
// of directories after their children), ownership when run as root.
// Each file is written under a temporary name in its directory and renamed
// when complete (its owner and mode set), so a file that has its name is
// whole: a restore cut short (a full disk, a lost mesh, a cancel) leaves
// only whole files, and the temporary files of the others are removed.
// Errors of writing an entry name the entry, not its temporary
// ("backup: restore /t/a/b: write: no space left on device"). Packs are
// fetched once each, Workers at a time, and every chunk is checked against
// its ID.
func (r *Reader) Restore(ctx context.Context, snap erasure.StripeID, target string, o RestoreOptions) (*RestoreSummary, error) {
	start := time.Now()
	for _, p := range o.Include {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("backup: include pattern %q: %w", p, err)
		}
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	s, err := r.open(ctx, snap)
	if err != nil {
		return nil, err
	}
	empty, err := prepareTarget(target, o.Overwrite)
	if err != nil {
		return nil, err
	}
	rs := &restorer{r: r, o: o, plan: make(map[erasure.StripeID][]piece), empty: empty}
	rs.spare.max, rs.scratch.max = o.Workers, o.Workers
	err = rs.walk(ctx, s.Root, "", target, len(o.Include) == 0, func() error { return nil })
	if err == nil {
		err = rs.writeFiles(ctx)
	}
	if err == nil {
		err = rs.finishDirs()
	}
	if err != nil {
		rs.cleanup()
		return nil, err
	}
	sum := rs.sum
	sum.Bytes = rs.bytes.Load()
	sum.Files = rs.nfiles.Load()
	sum.Duration = time.Since(start)
	return &sum, nil
}

// prepareTarget creates target if missing and reports whether it is empty.
func prepareTarget(target string, overwrite bool) (empty bool, err error) {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return false, fmt.Errorf("backup: restore target: %w", err)
	}
	f, err := os.Open(target)
	if err != nil {
		return false, fmt.Errorf("backup: restore target: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && err != io.EOF {
		return false, fmt.Errorf("backup: restore target: %w", err)
	}
	if len(names) > 0 && !overwrite {
		return false, fmt.Errorf("%w: %s", ErrTargetNotEmpty, target)
	}
	return len(names) == 0, nil
}

type restorer struct {
	r    *Reader
	o    RestoreOptions
	plan map[erasure.StripeID][]piece
	// order lists packs as first needed, so a fresh backup restores
	// about sequentially.
	order []erasure.StripeID
	files []*rfile
	dirs  []rdir // created, parents before children
	sum   RestoreSummary
	// empty: the target was empty, so nothing is in the way of what the
	// restore creates and no entry needs a look first (a system call
	// saved per file and directory).
	empty bool

	bytes, nfiles atomic.Int64
	// spare: the buffers packs are fetched and decrypted in; scratch:
	// those compressed chunks are decoded into; one of each per worker.
	spare, scratch bufList
}

// rfile is a file being restored under a temporary name.
type rfile struct {
	abs, tmp  string
	n         *node
	remaining atomic.Int64
	done      atomic.Bool
}

type rdir struct {
	abs string
	n   *node
}

// piece is a chunk to write at off in f.
type piece struct {
	f   *rfile
	off int64
	e   packEntry
}

func (rs *restorer) included(p string) bool {
	for _, pat := range rs.o.Include {
		if ok, _ := path.Match(pat, p); ok {
			return true
		}
	}
	return false
}

// walk creates the directories and symlinks of a tree and plans its files.
// A directory is created when it is included or when something below it
// is; ensureParent creates the parent directories on demand.
func (rs *restorer) walk(ctx context.Context, id crypto.ChunkID, rel, abs string, inc bool, ensureParent func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	nodes, err := rs.r.tree(ctx, id)
	if err != nil {
		return err
	}
	for i := range nodes {
		n := &nodes[i]
		name := string(n.Name)
		if !filepath.IsLocal(name) || filepath.Base(name) != name {
			return fmt.Errorf("%w: name %q cannot be restored here", ErrCorrupt, name)
		}
		p, a := joinPath(rel, n.Name), filepath.Join(abs, name)
		sel := inc || rs.included(p)
		if n.Type == NodeDir {
			created := false
			ensure := func() error {
				if created {
					return nil
				}
				if err := ensureParent(); err != nil {
					return err
				}
				if err := rs.mkdir(a); err != nil {
					return err
				}
				created = true
				rs.dirs = append(rs.dirs, rdir{a, n})
				return nil
			}
			if sel {
				if err := ensure(); err != nil {
					return err
				}
			}
			if err := rs.walk(ctx, n.subtree(), p, a, sel, ensure); err != nil {
				return err
			}
			continue
		}
		if !sel {
			continue
		}
		if err := ensureParent(); err != nil {
			return err
		}
		if err := rs.notDir(a); err != nil {
			return err
		}
		if n.Type == NodeSymlink {
			err = rs.symlink(a, n)
		} else {
			err = rs.planFile(a, n)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (rs *restorer) mkdir(a string) error {
	if rs.empty {
		if err := os.Mkdir(a, 0o700); err != nil {
			return entryErr(a, err)
		}
		return nil
	}
	fi, err := os.Lstat(a)
	switch {
	case err == nil && fi.IsDir():
		// Overwrite: reuse it, writable until its mode is set at the end.
		if err := os.Chmod(a, fi.Mode().Perm()|0o700); err != nil {
			return entryErr(a, err)
		}
		return nil
	case err == nil:
		if err := os.Remove(a); err != nil {
			return entryErr(a, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return entryErr(a, err)
	}
	if err := os.Mkdir(a, 0o700); err != nil {
		return entryErr(a, err)
	}
	return nil
}

// entryErr is an error of restoring the entry at a. It names a, not the
// temporary the entry was being written under, and keeps the operation and
// the cause: "backup: restore /t/a/b: write: no space left on device".
func entryErr(a string, err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return fmt.Errorf("backup: restore %s: %s: %w", a, pe.Op, pe.Err)
	}
	if le, ok := errors.AsType[*os.LinkError](err); ok {
		return fmt.Errorf("backup: restore %s: %s: %w", a, le.Op, le.Err)
	}
	return fmt.Errorf("backup: restore %s: %w", a, err)
}

// notDir fails if a directory is where a file or symlink goes.
func (rs *restorer) notDir(a string) error {
	if rs.empty {
		return nil
	}
	if fi, err := os.Lstat(a); err == nil && fi.IsDir() {
		return fmt.Errorf("backup: restore: %s is a directory in the target; not replacing it", a)
	}
	return nil
}

func tempName(a string) string {
	var b [8]byte
	rand.Read(b[:])
	return filepath.Join(filepath.Dir(a), ".respaldo-"+hex.EncodeToString(b[:])+".part")
}

func (rs *restorer) symlink(a string, n *node) error {
	tmp := tempName(a)
	if err := os.Symlink(string(n.Target), tmp); err != nil {
		return entryErr(a, err)
	}
	err := lchown(tmp, n.UID, n.GID)
	if err == nil {
		err = os.Rename(tmp, a)
	}
	if err != nil {
		os.Remove(tmp)
		return entryErr(a, err)
	}
	if err := lutimes(a, n.MTime); err != nil {
		return entryErr(a, err)
	}
	rs.sum.Symlinks++
	return nil
}

// planFile plans a file's chunks; its temporary is created by the first
// write (an empty file's, here), so that planning costs no system call and
// the fetches begin sooner.
func (rs *restorer) planFile(a string, n *node) error {
	f := &rfile{abs: a, tmp: tempName(a), n: n}
	rs.files = append(rs.files, f)
	ids := n.chunkIDs()
	var off int64
	for _, id := range ids {
		pid, e, ok := rs.r.idx.lookup(id)
		if !ok {
			return fmt.Errorf("%w: %s: chunk %v is not in the snapshot's index", ErrCorrupt, a, id)
		}
		if _, seen := rs.plan[pid]; !seen {
			rs.order = append(rs.order, pid)
		}
		rs.plan[pid] = append(rs.plan[pid], piece{f: f, off: off, e: e})
		off += int64(e.Raw)
	}
	if uint64(off) != n.Size {
		return fmt.Errorf("%w: %s: chunks give %d bytes, the tree says %d", ErrCorrupt, a, off, n.Size)
	}
	f.remaining.Store(int64(len(ids)))
	if len(ids) == 0 {
		if err := f.create(); err != nil {
			return err
		}
		return rs.finishFile(f)
	}
	return nil
}
