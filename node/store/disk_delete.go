package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"respaldo/erasure"
)

// Delete implements Store. The file goes first, then the index entry, so a
// crash in between leaves an entry without a file, which Open drops.
func (s *DiskStore) Delete(ctx context.Context, ref ShardRef) error {
	leave, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	lk := s.refLock(ref)
	lk.Lock()
	defer lk.Unlock()
	e, err := s.entry(ref)
	if err != nil {
		return err
	}
	return s.remove(ref, e, "")
}

// remove deletes (or, with quarantine set, moves there) a shard's file, then
// its index entries, and updates the counters. Call with the ref's lock held.
func (s *DiskStore) remove(ref ShardRef, e entry, quarantine string) error {
	path := s.path(e.CID, ref)
	var err error
	if quarantine != "" {
		err = os.Rename(path, quarantine)
	} else {
		err = os.Remove(path)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: delete %v: %w", ref, err)
	}
	if err := syncDir(s.fanPath(e.CID)); err != nil {
		return fmt.Errorf("store: delete %v: %w", ref, err)
	}
	s.account(0, -e.FileSize, -1)
	return s.unindex(ref, e.CID)
}

// unindex drops a shard's index entries, and its stripe's descriptor when no
// other shard of the stripe is left.
//
// The descriptor key is read so that badger's conflict detection sees a Put
// of another shard of the stripe committed meanwhile (it sets that key) and
// the transaction is retried instead of dropping a descriptor still in use.
func (s *DiskStore) unindex(ref ShardRef, c cid.Cid) error {
	err := s.update(func(txn *badger.Txn) error {
		if _, err := txn.Get(descKey(ref.Stripe)); err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if err := txn.Delete(shardKey(ref)); err != nil {
			return err
		}
		if err := txn.Delete(cidKey(c, ref)); err != nil {
			return err
		}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: shardKey(ref)[:len(prefixShard)+32]})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if string(it.Item().Key()) != string(shardKey(ref)) {
				return nil
			}
		}
		return txn.Delete(descKey(ref.Stripe))
	})
	if err != nil {
		return fmt.Errorf("store: delete %v: index: %w", ref, err)
	}
	return nil
}

// update runs fn in a read-write transaction, retried on conflicts.
func (s *DiskStore) update(fn func(*badger.Txn) error) error {
	var err error
	for range 16 {
		if err = s.db.Update(fn); !errors.Is(err, badger.ErrConflict) {
			return err
		}
	}
	return err
}

// Descriptor implements Store.
func (s *DiskStore) Descriptor(ctx context.Context, id erasure.StripeID) (*erasure.Descriptor, error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	var raw []byte
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(descKey(id))
		if err != nil {
			return err
		}
		raw, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("store: descriptor %v: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: descriptor %v: %w", id, err)
	}
	d, err := erasure.OpenDescriptor(raw, id)
	if err != nil {
		return nil, fmt.Errorf("store: descriptor %v: %w: %w", id, ErrCorrupt, err)
	}
	return d, nil
}
