package backup

import (
	"context"
	"fmt"
	"io"
	"os"
)

// openForBackup opens a file to back up (a test replaces it).
var openForBackup = openFile

// openFile opens a file the walk found regular, with the platform's
// openFlags, and refuses it if it is no longer a regular file.
func openFile(p string) (*os.File, error) {
	f, err := os.OpenFile(p, openFlags, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is no longer a regular file", p)
	}
	return f, nil
}

// fileWorker reads files: chunk, hash, and hand new chunks to the
// compressors. One chunker (and one 16 MiB scan buffer) per worker.
func (r *run) fileWorker(ctx context.Context) error {
	buf, free := scanBuffer(chunkBufSize)
	defer free()
	ch, err := newChunker(r.w.keys.ChunkerKey(), buf)
	if err != nil {
		return err
	}
	h := newIDHasher(r.idKey)
	for j := range r.fileJobs {
		err := r.readFile(ctx, ch, h, j)
		close(j.done)
		if err != nil {
			return err
		}
	}
	return nil
}

// readFile sets j's chunks and size, or skips the file if it cannot be
// read. Only ctx ending is an error.
func (r *run) readFile(ctx context.Context, ch *chunker, h *idHasher, j *fileJob) error {
	r.cur.Store(&j.path)
	if j.rd != nil {
		ch.reset(j.rd)
	} else {
		f, err := openForBackup(j.path)
		if err != nil {
			j.err = err
			r.skip(j.path, err)
			return nil
		}
		defer f.Close()
		ch.reset(f)
	}
	var ids []byte
	var size int64
	for {
		data, err := ch.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if j.rd != nil {
				return fmt.Errorf("backup: reading %s: %w", j.path, err)
			}
			j.err = fmt.Errorf("read: %w", err)
			r.skip(j.path, j.err)
			return nil
		}
		id := h.sum(data)
		ids = append(ids, id[:]...)
		size += int64(len(data))
		if r.claim(id) {
			if err := r.inflight.Acquire(ctx, inflightWeight(len(data))); err != nil {
				return err
			}
			if err := send(ctx, r.chunks, chunkJob{id: id, data: r.pages.copyIn(data)}); err != nil {
				return err
			}
			r.newBytes.Add(int64(len(data)))
		}
		r.bytes.Add(int64(len(data)))
	}
	j.chunks, j.size = ids, size
	r.files.Add(1)
	return nil
}
