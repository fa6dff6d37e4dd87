package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ipfs/go-cid"
)

// Scrub implements Store. A bad shard is confirmed by a second read under the
// shard's lock before it is reported, so a concurrent Delete or rewrite is
// never mistaken for damage. Quarantined files go to DIR/quarantine.
func (s *DiskStore) Scrub(ctx context.Context, opts ScrubOptions, bad func(ShardRef, error)) (ScrubStats, error) {
	var st ScrubStats
	start := time.Now()
	p := newPacer(opts.BytesPerSec)
	err := s.scanShards(ctx, func(ref ShardRef, e entry) error {
		n, moved, err := s.scrubOne(ctx, ref, e, opts.Quarantine)
		if errors.Is(err, ErrClosed) || (err != nil && ctx.Err() != nil) {
			return err
		}
		st.Shards++
		st.Bytes += n
		if err != nil {
			st.Bad++
			if moved {
				st.Quarantined++
			}
			if bad != nil {
				bad(ref, err)
			}
		}
		return p.wait(ctx, n)
	})
	st.Duration = time.Since(start)
	return st, err
}

// scrubOne checks one shard and returns the bytes read, whether the file was
// quarantined and the damage found (nil if none).
func (s *DiskStore) scrubOne(ctx context.Context, ref ShardRef, e entry, quarantine bool) (int64, bool, error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return 0, false, err
	}
	defer leave()
	n, err := s.check(ref, e)
	if err == nil {
		return n, false, nil
	}
	lk := s.refLock(ref)
	lk.Lock()
	defer lk.Unlock()
	if e, err = s.entry(ref); err != nil {
		return n, false, nil // deleted meanwhile
	}
	if _, err = s.check(ref, e); err == nil {
		return n, false, nil // rewritten meanwhile
	}
	if !quarantine {
		return n, false, err
	}
	if qerr := s.quarantine(ref, e); qerr != nil {
		s.log.Error("store: cannot quarantine shard", "ref", ref, "err", qerr)
		return n, false, err
	}
	s.log.Warn("store: shard quarantined", "ref", ref, "err", err)
	return n, true, err
}

// check reads and verifies one shard file.
func (s *DiskStore) check(ref ShardRef, e entry) (int64, error) {
	b, err := s.readFile(s.path(e.CID, ref), nil)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("store: shard %v: file missing: %w", ref, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("store: shard %v: %w: %w", ref, ErrCorrupt, err)
	}
	_, err = verifyFile(ref, b)
	return int64(len(b)), err
}

// quarantine moves a shard's file to DIR/quarantine and drops it from the
// index. Call with the ref's lock held.
func (s *DiskStore) quarantine(ref ShardRef, e entry) error {
	dest, err := s.quarantinePath(e.CID, ref)
	if err != nil {
		return err
	}
	if err := s.remove(ref, e, dest); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dest))
}

// quarantinePath makes DIR/quarantine and returns a fresh name in it for a
// shard's file.
func (s *DiskStore) quarantinePath(c cid.Cid, ref ShardRef) (string, error) {
	qdir := filepath.Join(s.dir, "quarantine")
	if err := os.MkdirAll(qdir, 0o700); err != nil {
		return "", err
	}
	return filepath.Join(qdir, fileName(c, ref)+"."+strconv.FormatInt(time.Now().UnixNano(), 10)), nil
}
