package dht

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	ds "github.com/ipfs/go-datastore"
	dsq "github.com/ipfs/go-datastore/query"
)

var errMemNotFound = errors.New("memkv: not found")

// memKV is a KV in memory shaped like node/store's records: Get wraps its
// own not-found error; Iterate copies the matching entries, then calls fn
// without holding the lock.
type memKV struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMemKV() *memKV { return &memKV{m: map[string][]byte{}} }

func (k *memKV) Get(_ context.Context, key []byte) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[string(key)]
	if !ok {
		return nil, errors.Join(errMemNotFound, errors.New(string(key)))
	}
	return bytes.Clone(v), nil
}

func (k *memKV) Put(_ context.Context, key, val []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[string(key)] = bytes.Clone(val)
	return nil
}

func (k *memKV) Delete(_ context.Context, key []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, string(key))
	return nil
}

func (k *memKV) Iterate(ctx context.Context, prefix []byte, fn func(key, val []byte) error) error {
	k.mu.Lock()
	var keys []string
	for _, key := range slices.Sorted(maps.Keys(k.m)) {
		if strings.HasPrefix(key, string(prefix)) {
			keys = append(keys, key)
		}
	}
	vals := make([][]byte, len(keys))
	for i, key := range keys {
		vals[i] = bytes.Clone(k.m[key])
	}
	k.mu.Unlock()
	for i, key := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn([]byte(key), vals[i]); err != nil {
			return err
		}
	}
	return nil
}

// datastoreSuite checks what kad-dht relies on (go-datastore's own suite
// needs a module go.mod does not list).
func datastoreSuite(t *testing.T, d ds.Batching) {
	ctx := t.Context()
	keys := []string{"/a", "/a/b", "/a/b/c", "/a/bc", "/ab", "/z/1", "/z/2", "/z/3"}
	for i, k := range keys {
		if err := d.Put(ctx, ds.NewKey(k), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, k := range keys {
		v, err := d.Get(ctx, ds.NewKey(k))
		if err != nil || !bytes.Equal(v, []byte{byte(i)}) {
			t.Fatalf("Get %s = %v, %v", k, v, err)
		}
		if ok, err := d.Has(ctx, ds.NewKey(k)); !ok || err != nil {
			t.Fatalf("Has %s = %v, %v", k, ok, err)
		}
		if n, err := d.GetSize(ctx, ds.NewKey(k)); n != 1 || err != nil {
			t.Fatalf("GetSize %s = %d, %v", k, n, err)
		}
	}
	if _, err := d.Get(ctx, ds.NewKey("/nope")); !errors.Is(err, ds.ErrNotFound) {
		t.Fatalf("Get absent: %v", err)
	}
	if ok, err := d.Has(ctx, ds.NewKey("/nope")); ok || err != nil {
		t.Fatalf("Has absent: %v, %v", ok, err)
	}
	if n, err := d.GetSize(ctx, ds.NewKey("/nope")); n != -1 || !errors.Is(err, ds.ErrNotFound) {
		t.Fatalf("GetSize absent: %d, %v", n, err)
	}
	if err := d.Delete(ctx, ds.NewKey("/nope")); err != nil {
		t.Fatalf("Delete absent: %v", err)
	}

	query := func(q dsq.Query) []string {
		t.Helper()
		res, err := d.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		es, err := res.Rest()
		if err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, e := range es {
			if q.KeysOnly && e.Value != nil {
				t.Fatalf("keys-only query returned a value for %s", e.Key)
			}
			if !q.KeysOnly && len(e.Value) != 1 {
				t.Fatalf("query returned %v for %s", e.Value, e.Key)
			}
			ks = append(ks, e.Key)
		}
		if len(q.Orders) == 0 {
			slices.Sort(ks)
		}
		return ks
	}
	check := func(name string, got []string, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Fatalf("%s: %v, want %v", name, got, want)
		}
	}
	check("all", query(dsq.Query{}), keys...)
	check("prefix /a", query(dsq.Query{Prefix: "/a"}), "/a/b", "/a/b/c", "/a/bc")
	check("prefix /a/", query(dsq.Query{Prefix: "/a/"}), "/a/b", "/a/b/c", "/a/bc")
	check("prefix /", query(dsq.Query{Prefix: "/"}), keys...)
	check("keys only", query(dsq.Query{Prefix: "/z", KeysOnly: true}), "/z/1", "/z/2", "/z/3")
	check("order desc", query(dsq.Query{Prefix: "/z", Orders: []dsq.Order{dsq.OrderByKeyDescending{}}}), "/z/3", "/z/2", "/z/1")
	check("offset limit", query(dsq.Query{Prefix: "/z", Orders: []dsq.Order{dsq.OrderByKey{}}, Offset: 1, Limit: 1}), "/z/2")
	check("filter", query(dsq.Query{Filters: []dsq.Filter{dsq.FilterValueCompare{Op: dsq.Equal, Value: []byte{7}}}}), "/z/3")

	b, err := d.Batch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Put(ctx, ds.NewKey("/batch"), []byte{9})
	_ = b.Delete(ctx, ds.NewKey("/z/1"))
	if ok, _ := d.Has(ctx, ds.NewKey("/batch")); ok {
		t.Fatal("batch applied before Commit")
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	check("after batch", query(dsq.Query{Prefix: "/z"}), "/z/2", "/z/3")
	if ok, _ := d.Has(ctx, ds.NewKey("/batch")); !ok {
		t.Fatal("batch put missing")
	}
	if err := d.Sync(ctx, ds.NewKey("/")); err != nil {
		t.Fatal(err)
	}
}

func TestKVDatastoreSuite(t *testing.T) {
	kv := newMemKV()
	_ = kv.Put(t.Context(), []byte("other/key"), []byte("not ours"))
	datastoreSuite(t, NewKVDatastore(kv, "dht", errMemNotFound))
	if v, err := kv.Get(t.Context(), []byte("other/key")); err != nil || string(v) != "not ours" {
		t.Fatalf("key outside the prefix: %q, %v", v, err)
	}
}

func TestMemDatastoreSuite(t *testing.T) { datastoreSuite(t, NewMemDatastore()) }

func TestKVDatastoreLayout(t *testing.T) {
	ctx := t.Context()
	kv := newMemKV()
	d := NewKVDatastore(kv, "dht", errMemNotFound)
	if _, err := d.Get(ctx, ds.NewKey("/a")); !errors.Is(err, ds.ErrNotFound) {
		t.Fatalf("Get absent: %v", err)
	}
	if err := d.Put(ctx, ds.NewKey("/providers/x/y"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx, ds.NewKey("/providersx"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, []byte("dht/providers/x/y")); err != nil {
		t.Fatalf("KV key: %v", err)
	}
	res, err := d.Query(ctx, dsq.Query{Prefix: "/providers"})
	if err != nil {
		t.Fatal(err)
	}
	es, err := res.Rest()
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Key != "/providers/x/y" || string(es[0].Value) != "1" {
		t.Fatalf("query /providers: %+v", es)
	}
	// Closing the results early stops the iteration.
	for i := range 100 {
		_ = d.Put(ctx, ds.NewKey("/many/"+string(rune('a'+i%26))+strings.Repeat("x", i)), []byte("v"))
	}
	res, err = d.Query(ctx, dsq.Query{Prefix: "/many"})
	if err != nil {
		t.Fatal(err)
	}
	<-res.Next()
	if err := res.Close(); err != nil {
		t.Fatal(err)
	}
}
