package dht

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"

	ds "github.com/ipfs/go-datastore"
	dsq "github.com/ipfs/go-datastore/query"
	dssync "github.com/ipfs/go-datastore/sync"
)

// KV is the persistent key-value store under the DHT's records. The node's
// badger records (node/store's Records) satisfy it.
//
// It must be safe for concurrent use. Slices passed in are not retained;
// slices returned belong to the caller.
type KV interface {
	// Get returns the value of key, or an error matching the NotFound error
	// given to NewKVDatastore (errors.Is) when key is absent.
	Get(ctx context.Context, key []byte) ([]byte, error)
	// Put sets key to val; it should be durable when it returns.
	Put(ctx context.Context, key, val []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(ctx context.Context, key []byte) error
	// Iterate calls fn for each key beginning with prefix and stops at fn's
	// first error, which it returns. key and val are valid only during the
	// call. fn does not call the KV, but it may block while other goroutines
	// call Get, Put and Delete, so Iterate must not hold a lock they need.
	Iterate(ctx context.Context, prefix []byte, fn func(key, val []byte) error) error
}

// KVDatastore adapts a KV to go-datastore's Batching, the store kad-dht
// keeps its value and provider records in. Datastore key k is stored under
// KV key prefix+k (k always begins with "/"). Close and Sync do nothing: the
// KV belongs to its opener, and its Puts are durable on return. Batches are
// applied one operation at a time on Commit (not atomic).
type KVDatastore struct {
	kv       KV
	prefix   string
	notFound error
}

var _ ds.Batching = (*KVDatastore)(nil)

// NewKVDatastore returns the datastore of kv's keys under prefix (e.g.
// "dht"); notFound is the error kv's Get wraps for an absent key (e.g.
// store.ErrNotFound).
func NewKVDatastore(kv KV, prefix string, notFound error) *KVDatastore {
	if kv == nil || notFound == nil {
		panic("dht: NewKVDatastore needs a KV and its not-found error")
	}
	return &KVDatastore{kv: kv, prefix: prefix, notFound: notFound}
}

// NewMemDatastore returns an empty in-memory datastore (lost on restart):
// go-datastore's MapDatastore behind a mutex.
func NewMemDatastore() ds.Batching { return dssync.MutexWrap(ds.NewMapDatastore()) }

func (d *KVDatastore) key(k ds.Key) []byte { return []byte(d.prefix + k.String()) }

// Get implements ds.Datastore.
func (d *KVDatastore) Get(ctx context.Context, k ds.Key) ([]byte, error) {
	v, err := d.kv.Get(ctx, d.key(k))
	if errors.Is(err, d.notFound) {
		return nil, ds.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("dht: datastore get %s: %w", k, err)
	}
	return v, nil
}

// Has implements ds.Datastore.
func (d *KVDatastore) Has(ctx context.Context, k ds.Key) (bool, error) {
	_, err := d.Get(ctx, k)
	if errors.Is(err, ds.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// GetSize implements ds.Datastore.
func (d *KVDatastore) GetSize(ctx context.Context, k ds.Key) (int, error) {
	v, err := d.Get(ctx, k)
	if err != nil {
		return -1, err
	}
	return len(v), nil
}

// Put implements ds.Datastore.
func (d *KVDatastore) Put(ctx context.Context, k ds.Key, value []byte) error {
	return d.kv.Put(ctx, d.key(k), value)
}

// Delete implements ds.Datastore.
func (d *KVDatastore) Delete(ctx context.Context, k ds.Key) error {
	return d.kv.Delete(ctx, d.key(k))
}

// Sync implements ds.Datastore; KV writes are durable on return.
func (d *KVDatastore) Sync(context.Context, ds.Key) error { return nil }

// Close implements ds.Datastore; the KV stays open.
func (d *KVDatastore) Close() error { return nil }

// Batch implements ds.Batching.
func (d *KVDatastore) Batch(context.Context) (ds.Batch, error) { return ds.NewBasicBatch(d), nil }

// Query implements ds.Datastore. Results stream from one KV Iterate;
// filters, orders, offset and limit are applied naively on top.
func (d *KVDatastore) Query(ctx context.Context, q dsq.Query) (dsq.Results, error) {
	prefix := d.prefix + "/"
	if p := path.Clean("/" + q.Prefix); p != "/" {
		prefix = d.prefix + p + "/"
	}
	res := dsq.ResultsWithContext(q, func(rctx context.Context, out chan<- dsq.Result) {
		rctx, cancel := context.WithCancel(rctx)
		defer cancel()
		stop := context.AfterFunc(ctx, cancel)
		defer stop()
		err := d.kv.Iterate(rctx, []byte(prefix), func(k, v []byte) error {
			e := dsq.Entry{Key: string(k[len(d.prefix):]), Size: len(v)}
			if !q.KeysOnly {
				e.Value = bytes.Clone(v)
			}
			select {
			case out <- dsq.Result{Entry: e}:
				return nil
			case <-rctx.Done():
				return rctx.Err()
			}
		})
		if err != nil && rctx.Err() == nil {
			select {
			case out <- dsq.Result{Error: fmt.Errorf("dht: datastore query %q: %w", q.Prefix, err)}:
			case <-rctx.Done():
			}
		}
	})
	return dsq.NaiveQueryApply(q, res), nil
}
