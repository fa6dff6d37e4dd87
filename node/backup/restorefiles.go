package backup

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"

	"golang.org/x/sync/errgroup"

	"respaldo/crypto"
	"respaldo/erasure"
)

// writeFiles fetches each needed pack once and writes its chunks.
func (rs *restorer) writeFiles(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(rs.o.Workers)
	for _, pid := range rs.order {
		pieces := rs.plan[pid]
		g.Go(func() error { return rs.writePack(ctx, pid, pieces) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, f := range rs.files {
		if !f.done.Load() {
			return fmt.Errorf("backup: restore: %s was not completed", f.abs)
		}
	}
	return nil
}

func (rs *restorer) writePack(ctx context.Context, pid erasure.StripeID, pieces []piece) error {
	p, err := rs.r.openPackInto(ctx, pid, &rs.spare)
	if err != nil {
		return err
	}
	defer rs.spare.put(p.plain) // raw below aliases it; no use outlives writePack
	slices.SortStableFunc(pieces, func(a, b piece) int { return cmp.Compare(a.e.Off, b.e.Off) })
	var raw []byte
	scratch := rs.scratch.get()
	defer func() { rs.scratch.put(scratch) }()
	var last crypto.ChunkID
	// Consecutive pieces often go to one file: it stays open between them
	// (and only then, see below).
	var w fileWriter
	defer w.close()
	for i, pc := range pieces {
		if err := ctx.Err(); err != nil {
			return err // another pack failed (a full disk): stop writing
		}
		if i == 0 || pc.e.ID != last {
			if raw, err = rs.r.chunkFrom(p, pc.e, scratch); err != nil {
				return fmt.Errorf("backup: restore %s: %w", pc.f.abs, err)
			}
			if pc.e.Len < pc.e.Raw {
				scratch = raw[:0] // decoded into scratch, not aliasing the pack
			}
			last = pc.e.ID
		}
		if err := w.writeAt(pc.f, raw, pc.off); err != nil {
			return err
		}
		rs.bytes.Add(int64(len(raw)))
		// Closed unless this pack's next piece goes to the same file: a
		// file no writer holds open can be renamed everywhere (Windows).
		if i+1 == len(pieces) || pieces[i+1].f != pc.f {
			if err := w.close(); err != nil {
				return err
			}
		}
		if pc.f.remaining.Add(-1) == 0 {
			if err := rs.finishFile(pc.f); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// fileWriter keeps the temporary of the file last written open.
type fileWriter struct {
	f *rfile
	h *os.File
}

// writeAt writes b at off in f's temporary, which the first write creates.
func (w *fileWriter) writeAt(f *rfile, b []byte, off int64) error {
	if w.f != f {
		if err := w.close(); err != nil {
			return err
		}
		h, err := os.OpenFile(f.tmp, os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return entryErr(f.abs, err)
		}
		w.f, w.h = f, h
	}
	if _, err := w.h.WriteAt(b, off); err != nil {
		return entryErr(f.abs, err)
	}
	return nil
}

// close closes the open temporary, if any; an error (a delayed write
// failure) names its file.
func (w *fileWriter) close() error {
	if w.h == nil {
		return nil
	}
	err := w.h.Close()
	f := w.f
	w.f, w.h = nil, nil
	if err != nil {
		return entryErr(f.abs, err)
	}
	return nil
}

// create creates the temporary of an empty file (the others are created
// by their first write, fileWriter).
func (f *rfile) create() error {
	h, err := os.OpenFile(f.tmp, os.O_WRONLY|os.O_CREATE, 0o600)
	if err == nil {
		err = h.Close()
	}
	if err != nil {
		return entryErr(f.abs, err)
	}
	return nil
}

// finishFile gives a complete file its owner, mode, name and mtime.
func (rs *restorer) finishFile(f *rfile) error {
	n := f.n
	err := lchown(f.tmp, n.UID, n.GID)
	if err == nil {
		err = os.Chmod(f.tmp, fileMode(n.Mode))
	}
	if err == nil {
		err = os.Rename(f.tmp, f.abs)
	}
	if err == nil {
		f.done.Store(true)
		err = lutimes(f.abs, n.MTime)
	}
	if err != nil {
		return entryErr(f.abs, err)
	}
	rs.nfiles.Add(1)
	return nil
}

// finishDirs sets the directories' owner, mode and mtime, children first.
func (rs *restorer) finishDirs() error {
	for i := len(rs.dirs) - 1; i >= 0; i-- {
		d := rs.dirs[i]
		err := lchown(d.abs, d.n.UID, d.n.GID)
		if err == nil {
			err = os.Chmod(d.abs, fileMode(d.n.Mode))
		}
		if err == nil {
			err = lutimes(d.abs, d.n.MTime)
		}
		if err != nil {
			return entryErr(d.abs, err)
		}
	}
	rs.sum.Dirs = int64(len(rs.dirs))
	return nil
}

// cleanup removes the temporary files of files not completed.
func (rs *restorer) cleanup() {
	for _, f := range rs.files {
		if !f.done.Load() {
			os.Remove(f.tmp)
		}
	}
}
