package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"respaldo/node/store"
)

func testRecords(t *testing.T, open Opener) {
	ctx := context.Background()
	r := openStore(t, open, 0).Records()
	_, err := r.Get(ctx, []byte("missing"))
	wantErr(t, "Get missing", err, store.ErrNotFound)
	if err := r.Put(ctx, nil, []byte("v")); err == nil {
		t.Fatal("Put with an empty key accepted")
	}
	val := []byte("value")
	kvs := map[string]string{"head/b": "2", "head/a": "1", "head/c": "", "roster/1": "r", "heae": "x", "head": "h"}
	for k, v := range kvs {
		if err := r.Put(ctx, []byte(k), []byte(v)); err != nil {
			t.Fatalf("Put %q: %v", k, err)
		}
	}
	if err := r.Put(ctx, []byte("k"), val); err != nil {
		t.Fatal(err)
	}
	val[0] = 'X' // not retained
	got, err := r.Get(ctx, []byte("k"))
	if err != nil || string(got) != "value" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	got[0] = 'Y' // owned by the caller
	if got, _ := r.Get(ctx, []byte("k")); string(got) != "value" {
		t.Fatalf("Get after mutating a returned value = %q", got)
	}
	if got, err := r.Get(ctx, []byte("head/c")); err != nil || len(got) != 0 {
		t.Fatalf("Get of an empty value = %q, %v", got, err)
	}
	if err := r.Put(ctx, []byte("head/a"), []byte("1bis")); err != nil {
		t.Fatal(err)
	}

	var keys, vals []string
	err = r.Iterate(ctx, []byte("head/"), func(k, v []byte) error {
		keys = append(keys, string(k))
		vals = append(vals, string(v))
		return nil
	})
	if err != nil || !equal(keys, "head/a", "head/b", "head/c") || !equal(vals, "1bis", "2", "") {
		t.Fatalf("Iterate head/ = %q %q, %v", keys, vals, err)
	}
	n := 0
	if err := r.Iterate(ctx, nil, func(k, v []byte) error { n++; return nil }); err != nil || n != len(kvs)+1 {
		t.Fatalf("Iterate all: %d keys, %v", n, err)
	}
	stop := errors.New("stop")
	n = 0
	if err := r.Iterate(ctx, []byte("head"), func(k, v []byte) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("Iterate with failing fn: %v after %d", err, n)
	}

	if err := r.Delete(ctx, []byte("head/b")); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, []byte("head/b")); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	_, err = r.Get(ctx, []byte("head/b"))
	wantErr(t, "Get deleted", err, store.ErrNotFound)
	keys = nil
	r.Iterate(ctx, []byte("head/"), func(k, v []byte) error {
		keys = append(keys, string(k))
		return nil
	})
	if !equal(keys, "head/a", "head/c") {
		t.Fatalf("Iterate after Delete = %q", keys)
	}
	// Large values (above badger's value threshold) round-trip too.
	big := bytes.Repeat([]byte{7}, 1<<20)
	if err := r.Put(ctx, []byte("big"), big); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Get(ctx, []byte("big")); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Get big: %v", err)
	}
}

func equal(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}
