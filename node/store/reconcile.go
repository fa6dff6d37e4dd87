package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"respaldo/erasure"
)

// fileRef names a shard file.
type fileRef struct {
	ref ShardRef
	cid cid.Cid
}

// fileFact is what the directory walk learns of a shard file.
type fileFact struct {
	cid  cid.Cid
	size int64
}

// Rebuild discards the shard index (records are kept) and rebuilds it from
// the headers of the shard files, as Open does when DIR/db is missing. It
// waits for operations in flight and holds new ones back until done.
func (s *DiskStore) Rebuild(ctx context.Context) error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.db.DropPrefix(prefixShard, prefixCID, prefixDesc); err != nil {
		return fmt.Errorf("store: rebuild: %w", err)
	}
	return s.reconcile(ctx)
}

// reconcile makes the index agree with the shard files, which are the truth:
// temp files are removed, entries without a file are dropped, files without
// an entry are adopted from their header (or quarantined if it is bad), and
// orphan descriptors are dropped. It recomputes the counters. Run it with no
// operation in flight.
func (s *DiskStore) reconcile(ctx context.Context) error {
	files, err := s.walk()
	if err != nil {
		return fmt.Errorf("store: scan shards: %w", err)
	}
	var used int64
	count := 0
	held := make(map[erasure.StripeID]fileRef) // a shard file of each stripe held
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixShard, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			ref, err := parseShardKey(k)
			var e entry
			if err == nil {
				err = it.Item().Value(func(v []byte) (err error) {
					e, err = parseEntry(v)
					return err
				})
			}
			f, ok := files[ref]
			if err != nil || !ok || !f.cid.Equals(e.CID) {
				s.log.Warn("store: index entry without its file dropped", "ref", ref)
				if err := wb.Delete(k); err != nil {
					return err
				}
				if e.CID.Defined() {
					if err := wb.Delete(cidKey(e.CID, ref)); err != nil {
						return err
					}
				}
				continue
			}
			if f.size != e.FileSize {
				// Damaged behind our back: count what is on disk.
				e.FileSize = f.size
				if err := wb.Set(k, e.marshal()); err != nil {
					return err
				}
			}
			delete(files, ref)
			count++
			used += f.size
			held[ref.Stripe] = fileRef{ref, f.cid}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: scan index: %w", err)
	}
	if len(files) > 0 {
		// A lost or new database, or a crash between a file's rename and
		// its index update.
		s.log.Warn("store: adopting shard files missing from the index", "files", len(files))
	}
	for ref, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, e, err := s.adopt(ref, f)
		if err != nil {
			s.log.Warn("store: bad shard file quarantined", "ref", ref, "err", err)
			if err := s.quarantineFile(f.cid, ref); err != nil {
				return err
			}
			continue
		}
		for _, kv := range [][2][]byte{{descKey(ref.Stripe), raw}, {shardKey(ref), e.marshal()}, {cidKey(e.CID, ref), nil}} {
			if err := wb.Set(kv[0], kv[1]); err != nil {
				return fmt.Errorf("store: index: %w", err)
			}
		}
		count++
		used += f.size
		held[ref.Stripe] = fileRef{}
	}
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixDesc})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			var id erasure.StripeID
			if copy(id[:], k[len(prefixDesc):]) == len(id) {
				if _, ok := held[id]; ok {
					delete(held, id)
					continue
				}
			}
			if err := wb.Delete(it.Item().KeyCopy(nil)); err != nil {
				return err
			}
		}
		return nil
	})
	// What is left in held lacks its descriptor entry: take it from a file.
	for id, f := range held {
		if !f.cid.Defined() {
			continue // adopted above, with its descriptor
		}
		raw, _, err := s.adopt(f.ref, fileFact{cid: f.cid, size: -1})
		if err != nil {
			s.log.Warn("store: descriptor missing from the index and unreadable", "stripe", id, "err", err)
			continue
		}
		if err := wb.Set(descKey(id), raw); err != nil {
			return fmt.Errorf("store: index: %w", err)
		}
	}
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		return fmt.Errorf("store: index: %w", err)
	}
	s.mu.Lock()
	s.used, s.count = used, count
	s.mu.Unlock()
	return nil
}

// walk lists the shard files, removing temp files left by a crash. Files it
// does not recognise are left alone, with a warning.
func (s *DiskStore) walk() (map[ShardRef]fileFact, error) {
	root := filepath.Join(s.dir, "shards")
	fans, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	files := make(map[ShardRef]fileFact)
	for _, fan := range fans {
		if !fan.IsDir() && strings.HasPrefix(fan.Name(), tmpPrefix) {
			// probeDirect's file, left by a crash.
			if err := os.Remove(filepath.Join(root, fan.Name())); err != nil {
				return nil, err
			}
			continue
		}
		if !fan.IsDir() {
			s.log.Warn("store: unknown file in shard directory", "name", fan.Name())
			continue
		}
		dir := filepath.Join(root, fan.Name())
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		removed := false
		for _, ent := range ents {
			name := ent.Name()
			if strings.HasPrefix(name, tmpPrefix) {
				if err := os.Remove(filepath.Join(dir, name)); err != nil {
					return nil, err
				}
				removed = true
				continue
			}
			c, ref, ok := parseFileName(name)
			_, dup := files[ref]
			if !ok || dup || fanDir(c) != fan.Name() || !ent.Type().IsRegular() {
				s.log.Warn("store: unknown file in shard directory", "name", filepath.Join(fan.Name(), name))
				continue
			}
			info, err := ent.Info()
			if err != nil {
				return nil, err
			}
			files[ref] = fileFact{cid: c, size: info.Size()}
		}
		if removed {
			if err := syncDir(dir); err != nil {
				return nil, err
			}
		}
	}
	return files, nil
}

// adopt reads the header of a shard file missing from the index and checks
// it against the file's name and size (unless f.size is negative). The shard
// bytes are not hashed here (Get and Scrub do that).
func (s *DiskStore) adopt(ref ShardRef, f fileFact) ([]byte, entry, error) {
	fh, err := os.Open(s.path(f.cid, ref))
	if err != nil {
		return nil, entry{}, err
	}
	defer fh.Close()
	index, raw, dataAt, err := readHeader(fh)
	if err != nil {
		return nil, entry{}, err
	}
	if index != ref.Index {
		return nil, entry{}, fmt.Errorf("%w: index %d", errBadHeader, index)
	}
	d, err := erasure.OpenDescriptor(raw, ref.Stripe)
	if err != nil {
		return nil, entry{}, err
	}
	if index >= len(d.Shards) || !d.Shards[index].Equals(f.cid) {
		return nil, entry{}, fmt.Errorf("file name's CID not in descriptor: %w", erasure.ErrShardMismatch)
	}
	e := entry{Size: d.ShardSize, FileSize: dataAt + d.ShardSize, CID: f.cid}
	if f.size >= 0 && f.size != e.FileSize {
		return nil, entry{}, fmt.Errorf("file is %d bytes, want %d: %w", f.size, e.FileSize, erasure.ErrShardMismatch)
	}
	return raw, e, nil
}

// quarantineFile moves an unindexed shard file to DIR/quarantine.
func (s *DiskStore) quarantineFile(c cid.Cid, ref ShardRef) error {
	dest, err := s.quarantinePath(c, ref)
	if err != nil {
		return err
	}
	if err := os.Rename(s.path(c, ref), dest); err != nil {
		return err
	}
	if err := syncDir(s.fanPath(c)); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dest))
}
