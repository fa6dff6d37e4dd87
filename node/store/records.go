package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// diskRecords is the Records of a DiskStore: keys under r/ in badger.
type diskRecords struct{ s *DiskStore }

// Records implements Store.
func (s *DiskStore) Records() Records { return diskRecords{s} }

func (r diskRecords) Get(ctx context.Context, key []byte) ([]byte, error) {
	leave, err := r.s.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	var val []byte
	err = r.s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(recordKey(key))
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("store: record %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: record %q: %w", key, err)
	}
	if val == nil {
		val = []byte{}
	}
	return val, nil
}

func (r diskRecords) Put(ctx context.Context, key, val []byte) error {
	if len(key) == 0 {
		return errEmptyKey
	}
	leave, err := r.s.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	err = r.s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(recordKey(key), append([]byte{}, val...))
	})
	if err != nil {
		return fmt.Errorf("store: record %q: %w", key, err)
	}
	return nil
}

func (r diskRecords) Delete(ctx context.Context, key []byte) error {
	leave, err := r.s.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	err = r.s.db.Update(func(txn *badger.Txn) error { return txn.Delete(recordKey(key)) })
	if err != nil {
		return fmt.Errorf("store: record %q: %w", key, err)
	}
	return nil
}

func (r diskRecords) Iterate(ctx context.Context, prefix []byte, fn func(key, val []byte) error) error {
	leave, err := r.s.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	return r.s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: recordKey(prefix), PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			err := item.Value(func(v []byte) error {
				return fn(item.Key()[len(prefixRecord):], v)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}
