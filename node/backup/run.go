package backup

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"respaldo/crypto"
	"respaldo/erasure"
)

// A run is one backup in flight. Its stages run in an errgroup, each
// closing its output channel when done, so a failure anywhere cancels the
// rest:
//
//	walker ─fileJobs─▶ readers (open, chunk, hash, dedup, copy into pages)
//	       ─chunks─▶ compressors (zstd) ─packed─▶ packer (age as it packs,
//	       padding) ─seal─▶ uploaders (Put, pending record in the KV)
//	walker ─dirQ (post-order)─▶ tree builder (waits for the directory's
//	       files, encodes the tree, dedups it, packs it into metadata packs)
//	       ─seal─▶ uploaders
//
// Memory is bounded: a 16 MiB scan buffer per reader, at most
// inflightBytes of chunk pages between the readers and the packer (plus
// what the compressors are producing), and Uploads+1 pack buffers.
type run struct {
	w     *Writer
	c     *cache
	o     *BackupOptions
	idKey crypto.ChunkIDKey

	seenMu sync.Mutex
	seen   map[crypto.ChunkID]struct{}   // chunks claimed by this run
	reused map[erasure.StripeID]struct{} // packs of chunks found in the index

	sealedMu sync.Mutex
	sealed   []packRef          // entries of the packs put by this run
	putPacks []erasure.StripeID // and those packs

	files, dirs, bytes, newBytes, stored, packs atomic.Int64
	totalFiles, totalBytes                      atomic.Int64
	walked                                      atomic.Bool // totals are final
	cur                                         atomic.Pointer[string]

	skipMu  sync.Mutex
	skipped []SkippedFile

	pages    pagePool
	inflight *semaphore.Weighted // pages of chunks between readers and packer
	packCap  int                 // ciphertext buffer of a full data pack
	packBufs bufList             // of packCap bytes
	fileJobs chan *fileJob
	dirQ     chan *dirJob
	chunks   chan chunkJob
	packed   chan packItem
	seal     chan sealedPack

	meta *packBuilder // trees not yet sealed when the walk ends
	root crypto.ChunkID
}

// inflightBytes bounds the chunk data copied by the readers and not yet
// written into a pack, whatever the chunk sizes.
const inflightBytes = 12 << 20

func inflightWeight(n int) int64 { return int64(min(pagesFor(n), inflightBytes/pageSize)) }

// sealedPack is a finished, encrypted pack waiting to be put.
type sealedPack struct {
	blob    []byte // from packBufs, or a metadata pack
	entries []packEntry
}

type chunkJob struct {
	id   crypto.ChunkID
	data chunkData
}

type packItem struct {
	id   crypto.ChunkID
	body chunkData // stored form: compressed or raw
	raw  int
	w    int64 // semaphore weight to release once packed
}

func newRun(w *Writer, c *cache, o *BackupOptions) *run {
	n := w.opts.Workers
	packCap := sealedSize(padClass(w.opts.PackSize))
	return &run{
		w: w, c: c, o: o, idKey: w.keys.ChunkIDKey(),
		seen:     make(map[crypto.ChunkID]struct{}),
		reused:   make(map[erasure.StripeID]struct{}),
		inflight: semaphore.NewWeighted(inflightBytes / pageSize),
		packCap:  packCap,
		packBufs: bufList{size: packCap, max: w.opts.Uploads + 1},
		fileJobs: make(chan *fileJob, 8),
		dirQ:     make(chan *dirJob, 256),
		chunks:   make(chan chunkJob, n),
		packed:   make(chan packItem, n),
		seal:     make(chan sealedPack),
	}
}

// claim reports whether id is new: not in the index and not yet claimed by
// this run. The first caller for an ID stores it; the others skip it. The
// pack of a chunk found in the index is noted: the snapshot needs it.
func (r *run) claim(id crypto.ChunkID) bool {
	if pack, _, ok := r.c.idx.lookup(id); ok {
		r.seenMu.Lock()
		r.reused[pack] = struct{}{}
		r.seenMu.Unlock()
		return false
	}
	r.seenMu.Lock()
	defer r.seenMu.Unlock()
	if _, ok := r.seen[id]; ok {
		return false
	}
	r.seen[id] = struct{}{}
	return true
}

// stripes returns every stripe the snapshot of this run needs besides its
// index packs and records: the packs it put and those it reused.
func (r *run) stripes() []erasure.StripeID {
	r.seenMu.Lock()
	out := make([]erasure.StripeID, 0, len(r.reused)+len(r.putPacks))
	for id := range r.reused {
		out = append(out, id)
	}
	r.seenMu.Unlock()
	r.sealedMu.Lock()
	out = append(out, r.putPacks...)
	r.sealedMu.Unlock()
	return out
}

func (r *run) skip(path string, err error) {
	r.skipMu.Lock()
	defer r.skipMu.Unlock()
	r.skipped = append(r.skipped, SkippedFile{Path: path, Err: err.Error()})
}

func (r *run) skippedList() []SkippedFile {
	r.skipMu.Lock()
	defer r.skipMu.Unlock()
	return r.skipped
}

// run walks roots through the pipeline and returns the root tree's ID.
func (r *run) run(ctx context.Context, roots []string) (crypto.ChunkID, error) {
	stop := r.startProgress(ctx)
	defer stop()
	g, ctx := errgroup.WithContext(ctx)
	n := r.w.opts.Workers
	g.Go(func() error {
		defer close(r.fileJobs)
		defer close(r.dirQ)
		if err := r.walk(ctx, roots); err != nil {
			return err
		}
		r.walked.Store(true)
		return nil
	})
	var fileWG, compWG, producers sync.WaitGroup
	fileWG.Add(r.w.opts.Readers)
	for range r.w.opts.Readers {
		g.Go(func() error { defer fileWG.Done(); return r.fileWorker(ctx) })
	}
	compWG.Add(n)
	for range n {
		g.Go(func() error { defer compWG.Done(); return r.compressor(ctx) })
	}
	go func() { fileWG.Wait(); close(r.chunks) }()
	go func() { compWG.Wait(); close(r.packed) }()
	producers.Add(2)
	g.Go(func() error { defer producers.Done(); return r.packer(ctx) })
	g.Go(func() error { defer producers.Done(); return r.buildTrees(ctx) })
	go func() { producers.Wait(); close(r.seal) }()
	for range r.w.opts.Uploads {
		g.Go(func() error { return r.uploader(ctx) })
	}
	err := g.Wait()
	return r.root, err
}

// send puts v on ch unless ctx ends first.
func send[T any](ctx context.Context, ch chan<- T, v T) error {
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *run) compressor(ctx context.Context) error {
	enc := newEncoder(r.w.opts.level())
	defer enc.Close()
	scratch := make([]byte, 0, sampleLen+sampleLen/8)
	for j := range r.chunks {
		body, raw := j.data, j.data.n
		if r.w.opts.Compression != CompressOff && compressible(enc, &j.data, &scratch) {
			if c, ok := compressPages(enc, &j.data, &r.pages); ok {
				r.pages.release(&j.data)
				body = c
			}
		}
		if err := send(ctx, r.packed, packItem{id: j.id, body: body, raw: raw, w: inflightWeight(raw)}); err != nil {
			return err
		}
	}
	return nil
}

// packer gathers data chunks into packs of about PackSize bytes, encrypting
// them as they are written, and hands finished packs to the uploaders.
func (r *run) packer(ctx context.Context) error {
	size := r.w.opts.PackSize
	var b *packBuilder
	for it := range r.packed {
		if b != nil && !b.fits(it.body.n, size) {
			if err := r.sendPack(ctx, b); err != nil {
				return err
			}
			b = nil
		}
		if b == nil {
			var err error
			if b, err = newSealedPack(r.packBufs.get(), writeRecipient(r.w.keys)); err != nil {
				return err
			}
		}
		b.addPages(it.id, ChunkData, &it.body, it.raw)
		r.pages.release(&it.body)
		r.inflight.Release(it.w)
	}
	if b == nil {
		return nil
	}
	return r.sendPack(ctx, b)
}

// sendPack finishes a pack and hands it to the uploaders.
func (r *run) sendPack(ctx context.Context, b *packBuilder) error {
	blob, es, _, err := b.finish()
	if err != nil {
		return err
	}
	return send(ctx, r.seal, sealedPack{blob: blob, entries: es})
}

func (r *run) uploader(ctx context.Context) error {
	for p := range r.seal {
		if _, err := r.putPack(ctx, p, true); err != nil {
			return err
		}
	}
	return nil
}

// putPack stores a sealed pack, then records its entries (and, if pending,
// in the KV, so a later run knows them even if this one fails).
func (r *run) putPack(ctx context.Context, p sealedPack, pending bool) (erasure.StripeID, error) {
	s, err := newSecrets(r.w.keys)
	if err != nil {
		return erasure.StripeID{}, err
	}
	var id erasure.StripeID
	if js, ok := r.w.store.(JournalStore); ok && pending {
		// Journaled: the pack is recorded (done) before the journal
		// lets go of it, so a crash at any point leaves it either to
		// be finished by the next run or known to it.
		var note []byte
		if note, err = pendingNote(p.entries); err != nil {
			return erasure.StripeID{}, err
		}
		id, err = js.PutJournaled(ctx, p.blob, s, note, func(id erasure.StripeID) error {
			return putPending(ctx, r.w.kv, id, p.entries)
		})
	} else {
		id, err = r.w.store.Put(ctx, p.blob, s)
		if err == nil && pending {
			err = putPending(ctx, r.w.kv, id, p.entries)
		}
	}
	if err != nil {
		return erasure.StripeID{}, fmt.Errorf("backup: store pack: %w", err)
	}
	r.stored.Add(int64(len(p.blob)))
	r.packs.Add(1)
	r.packBufs.put(p.blob)
	if pending {
		r.sealedMu.Lock()
		for _, e := range p.entries {
			r.sealed = append(r.sealed, packRef{id, e})
		}
		r.putPacks = append(r.putPacks, id)
		r.sealedMu.Unlock()
	}
	return id, nil
}

// putRecord seals and stores a snapshot or catalog record.
func (r *run) putRecord(ctx context.Context, magic string, v any) (erasure.StripeID, error) {
	id, n, err := putRecord(ctx, r.w.store, r.w.keys, magic, v)
	r.stored.Add(int64(n))
	return id, err
}
