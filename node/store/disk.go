package store

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Options configure a DiskStore.
type Options struct {
	// CapacityBytes caps the bytes of shard files; 0: only the filesystem
	// limits.
	CapacityBytes int64
	// ReserveBytes are kept free on the filesystem (badger, logs and the
	// rest of the machine need room too).
	ReserveBytes int64
	// Logger receives warnings (rebuilds, stale entries, quarantined files)
	// and badger's messages; nil discards them.
	Logger *slog.Logger
	// GCInterval is how often badger's value log is garbage-collected;
	// 0 means 10 minutes, negative never.
	GCInterval time.Duration
	// PageCache writes and reads shard files through the page cache even
	// where the file system offers direct I/O (O_DIRECT, Linux), which the
	// store otherwise uses for them; see docs/format-store.md.
	PageCache bool
}

// DefaultOptions returns the options a node starts from.
func DefaultOptions() Options {
	return Options{ReserveBytes: 64 << 20, GCInterval: 10 * time.Minute}
}

// Validate reports nonsensical options.
func (o Options) Validate() error {
	if o.CapacityBytes < 0 || o.ReserveBytes < 0 {
		return errors.New("store: negative capacity or reserve")
	}
	return nil
}

// DiskStore is the Store of a node: shard files under DIR/shards, everything
// else in a badger database in DIR/db. See docs/format-store.md.
type DiskStore struct {
	dir  string
	opts Options
	log  *slog.Logger
	db   *badger.DB
	seed maphash.Seed

	// life is held shared by every operation and exclusively by Close and
	// Rebuild.
	life   sync.RWMutex
	closed bool

	refLocks [64]sync.Mutex // serialise Put, Delete and quarantine per ref

	mu       sync.Mutex // guards the counters below
	used     int64      // bytes of shard files
	reserved int64      // bytes of Puts in flight
	count    int        // shard files

	stopGC chan struct{}
	gcDone chan struct{}

	reads sync.Pool // *[]byte: shard files read by ReadLent, reused

	direct atomic.Bool // shard files bypass the page cache (O_DIRECT)
}

var (
	_ Store  = (*DiskStore)(nil)
	_ Lender = (*DiskStore)(nil)
)

// Open opens (creating if needed) the store in dir. It removes temp files
// left by a crash, drops index entries whose file is gone, adopts shard
// files the index lacks by reading their headers, and recomputes the space
// used. When DIR/db is missing the whole index is so rebuilt from the files.
func Open(dir string, opts Options) (*DiskStore, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Join(dir, "shards"), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := badger.Open(badgerOptions(filepath.Join(dir, "db"), log))
	if err != nil {
		return nil, fmt.Errorf("store: open database: %w", err)
	}
	s := &DiskStore{dir: dir, opts: opts, log: log, db: db, seed: maphash.MakeSeed()}
	if openDirect != 0 && !opts.PageCache {
		ok, why := probeDirect(filepath.Join(dir, "shards"))
		if !ok {
			log.Warn("store: shard files go through the page cache: "+why, "dir", dir)
		}
		s.direct.Store(ok)
	}
	var format []byte
	err = db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(keyFormat)
		if err == nil {
			format, err = item.ValueCopy(nil)
		}
		return err
	})
	if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
		db.Close()
		return nil, fmt.Errorf("store: open database: %w", err)
	}
	if format != nil && string(format) != indexFormat {
		db.Close()
		return nil, fmt.Errorf("store: index format %q, this program reads %q", format, indexFormat)
	}
	if err := s.reconcile(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set(keyFormat, []byte(indexFormat)) }); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	s.startGC()
	return s, nil
}

// noDirect stops direct I/O after the file system refused it in op.
func (s *DiskStore) noDirect(op string) {
	if s.direct.CompareAndSwap(true, false) {
		s.log.Warn("store: the file system refused direct I/O in "+op+"; shard files go through the page cache from now on", "dir", s.dir)
	}
}

// Dir returns the store's directory.
func (s *DiskStore) Dir() string { return s.dir }

// Close implements Store. It waits for operations in flight.
func (s *DiskStore) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.stopGC != nil {
		close(s.stopGC)
		<-s.gcDone
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// enter starts an operation: it holds s.life shared until the returned
// function is called.
func (s *DiskStore) enter(ctx context.Context) (func(), error) {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		s.life.RUnlock()
		return nil, err
	}
	return s.life.RUnlock, nil
}

func (s *DiskStore) refLock(ref ShardRef) *sync.Mutex {
	h := maphash.Comparable(s.seed, ref)
	return &s.refLocks[h%uint64(len(s.refLocks))]
}

func (s *DiskStore) startGC() {
	every := s.opts.GCInterval
	if every == 0 {
		every = 10 * time.Minute
	}
	if every < 0 {
		return
	}
	s.stopGC, s.gcDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.gcDone)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stopGC:
				return
			case <-t.C:
				for s.db.RunValueLogGC(0.5) == nil {
				}
			}
		}
	}()
}

// free returns the bytes Puts may still use. Call with s.mu held.
func (s *DiskStore) free() int64 {
	free := int64(math.MaxInt64)
	if c := s.opts.CapacityBytes; c > 0 {
		free = c - s.used - s.reserved
	}
	if fs, ok := fsFree(filepath.Join(s.dir, "shards")); ok {
		free = min(free, fs-s.opts.ReserveBytes-s.reserved)
	}
	return max(free, 0)
}

// reserve books n bytes for a Put in flight, or fails with ErrNoSpace.
func (s *DiskStore) reserve(ref ShardRef, n int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if free := s.free(); n > free {
		return fmt.Errorf("store: put %v: %d bytes, %d free: %w", ref, n, free, ErrNoSpace)
	}
	s.reserved += n
	return nil
}

// account moves a reservation of n bytes to used (delta bytes and dcount
// shards change) — or just releases it when delta and dcount are 0.
func (s *DiskStore) account(reserved, delta int64, dcount int) {
	s.mu.Lock()
	s.reserved -= reserved
	s.used += delta
	s.count += dcount
	s.mu.Unlock()
}

// Usage implements Store.
func (s *DiskStore) Usage(ctx context.Context) (Usage, error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return Usage{}, err
	}
	defer leave()
	s.mu.Lock()
	defer s.mu.Unlock()
	return Usage{Shards: s.count, UsedBytes: s.used, FreeBytes: s.free(), CapacityBytes: s.opts.CapacityBytes}, nil
}
