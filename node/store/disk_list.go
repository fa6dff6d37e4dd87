package store

import (
	"bytes"
	"context"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

const listBatch = 256

// scanShards calls fn for every s/ entry in key order, in batches read by
// short transactions, so fn may call the store and Close is never held up
// for long.
func (s *DiskStore) scanShards(ctx context.Context, fn func(ShardRef, entry) error) error {
	type item struct {
		ref ShardRef
		e   entry
	}
	seek := append([]byte{}, prefixShard...)
	for {
		leave, err := s.enter(ctx)
		if err != nil {
			return err
		}
		var batch []item
		err = s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: prefixShard, PrefetchValues: true, PrefetchSize: listBatch})
			defer it.Close()
			for it.Seek(seek); it.Valid() && len(batch) < listBatch; it.Next() {
				k := it.Item().Key()
				if bytes.Equal(k, seek) {
					continue
				}
				ref, err := parseShardKey(k)
				if err != nil {
					return err
				}
				var e entry
				if err := it.Item().Value(func(v []byte) (err error) {
					e, err = parseEntry(v)
					return err
				}); err != nil {
					return fmt.Errorf("entry %v: %w", ref, err)
				}
				batch = append(batch, item{ref, e})
			}
			return nil
		})
		leave()
		if err != nil {
			return fmt.Errorf("store: list: %w", err)
		}
		for _, b := range batch {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(b.ref, b.e); err != nil {
				return err
			}
		}
		if len(batch) < listBatch {
			return nil
		}
		seek = shardKey(batch[len(batch)-1].ref)
	}
}

// List implements Store.
func (s *DiskStore) List(ctx context.Context, fn func(ShardInfo) error) error {
	return s.scanShards(ctx, func(ref ShardRef, e entry) error {
		return fn(ShardInfo{Ref: ref, CID: e.CID, Size: e.Size})
	})
}
