package shard

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"respaldo/erasure"
	"respaldo/node/store"
)

// stores runs fn over a MemStore and a DiskStore.
func stores(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("mem", func(t *testing.T) { fn(t, memEnv(t)) })
	t.Run("disk", func(t *testing.T) { fn(t, newEnv(t, diskStore(t, 0))) })
}

func TestHappyPath(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f := newFixture(t, 4*3*erasure.PieceSize+1000) // shards of 4 pieces
		e.mustPut(f, 0, 5)
		e.mustPut(f, 0) // again: a no-op, still ok
		if !e.has(f, 0) || !e.has(f, 5) || e.has(f, 1) {
			t.Fatal("has does not match the puts")
		}
		for _, i := range []int{0, 5} {
			data, err := e.get(f, i)
			if err != nil || !bytes.Equal(data, f.shards[i]) {
				t.Fatalf("get %d: %v", i, err)
			}
		}
		var data []byte
		cerr, serr := e.run(coHolder, func(s Stream) (err error) {
			data, err = GetAuthorized(ctx, s, f.d, 5)
			return err
		})
		if cerr != nil || serr != nil || !bytes.Equal(data, f.shards[5]) {
			t.Fatalf("authorized get: %v / %v", cerr, serr)
		}
		for piece := range f.d.Pieces() {
			if err := e.audit(coHolder, f, 0, piece); err != nil {
				t.Fatalf("audit piece %d: %v", piece, err)
			}
		}
		cerr, serr = e.run(ownerID, func(s Stream) error {
			return Delete(ctx, s, ownerID, holderID, f.d, 0, f.del, time.Now())
		})
		if cerr != nil || serr != nil {
			t.Fatalf("delete: %v / %v", cerr, serr)
		}
		if e.has(f, 0) || e.has(f, 5) {
			t.Fatal("a shard of the deleted stripe is still held")
		}
		if del, err := IsDeleted(ctx, e.st.Records(), f.d.ID()); !del || err != nil {
			t.Fatalf("IsDeleted = %v, %v", del, err)
		}
		wantErr(t, "put after delete", e.put(f, 1), ErrDeleted)
		wantErr(t, "get after delete", func() error { _, err := e.get(f, 0); return err }(), ErrNotFound)
	})
}

func TestEmptyStripe(t *testing.T) {
	e := memEnv(t)
	f := newFixture(t, 0)
	e.mustPut(f, 2)
	data, err := e.get(f, 2)
	if err != nil || len(data) != 0 {
		t.Fatalf("get of an empty shard: %q, %v", data, err)
	}
	if err := e.audit(coHolder, f, 2, 0); err != nil {
		t.Fatal(err)
	}
}

func TestPutRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 100_000)
	t.Run("wrong shard", func(t *testing.T) {
		stores(t, func(t *testing.T, e *env) {
			cerr, serr := e.run(otherPeer, func(s Stream) error {
				return Put(ctx, s, f.d, 0, f.shards[1])
			})
			wantErr(t, "client", cerr, ErrWrongShard)
			wantErr(t, "server", serr, ErrWrongShard, erasure.ErrShardMismatch)
			if e.has(f, 0) {
				t.Fatal("a wrong shard was stored")
			}
		})
	})
	t.Run("descriptor of another stripe", func(t *testing.T) {
		e := memEnv(t)
		other := newFixture(t, 100_000)
		id := other.d.ID()
		req := &request{Version: wireVersion, Op: opPut, Stripe: id[:], Index: 0, Desc: f.d.Marshal(), Size: f.d.ShardSize}
		cerr, serr := e.run(otherPeer, func(s Stream) error { return zeroClient.do(ctx, s, req, f.shards[0], nil) })
		wantErr(t, "client", cerr, ErrBadRequest)
		wantErr(t, "server", serr, ErrBadRequest)
	})
	t.Run("size does not match the descriptor", func(t *testing.T) {
		e := memEnv(t)
		id := f.d.ID()
		req := &request{Version: wireVersion, Op: opPut, Stripe: id[:], Index: 0, Desc: f.d.Marshal(), Size: f.d.ShardSize - 1}
		cerr, _ := e.run(otherPeer, func(s Stream) error { return zeroClient.do(ctx, s, req, f.shards[0][1:], nil) })
		wantErr(t, "client", cerr, ErrBadRequest)
	})
	t.Run("index beyond the stripe", func(t *testing.T) {
		e := memEnv(t)
		id := f.d.ID()
		req := &request{Version: wireVersion, Op: opPut, Stripe: id[:], Index: 6, Desc: f.d.Marshal(), Size: f.d.ShardSize}
		cerr, _ := e.run(otherPeer, func(s Stream) error { return zeroClient.do(ctx, s, req, f.shards[0], nil) })
		wantErr(t, "client", cerr, ErrBadRequest)
	})
	t.Run("out of space", func(t *testing.T) {
		for name, st := range map[string]store.Store{
			"mem":  store.NewMemStore(f.d.ShardSize + 10),
			"disk": diskStore(t, f.d.ShardSize+5000), // room for one file with its 4 KiB header
		} {
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, st)
				e.mustPut(f, 0)
				cerr, serr := e.run(otherPeer, func(s Stream) error { return Put(ctx, s, f.d, 1, f.shards[1]) })
				wantErr(t, "client", cerr, ErrNoSpace)
				wantErr(t, "server", serr, ErrNoSpace)
				if e.has(f, 1) {
					t.Fatal("stored without space")
				}
			})
		}
	})
	t.Run("oversize", func(t *testing.T) {
		e := memEnv(t)
		e.h.Limits.MaxShard = f.d.ShardSize - 1
		cerr, serr := e.run(otherPeer, func(s Stream) error { return Put(ctx, s, f.d, 0, f.shards[0]) })
		wantErr(t, "client", cerr, ErrBadRequest)
		wantErr(t, "server", serr, ErrBadRequest)
	})
	t.Run("cut short", func(t *testing.T) {
		e := memEnv(t)
		id := f.d.ID()
		hdr := marshal(&request{Version: wireVersion, Op: opPut, Stripe: id[:], Index: 0, Desc: f.d.Marshal(), Size: f.d.ShardSize})
		_, serr := e.run(otherPeer, func(s Stream) error {
			go writeMsg(s, hdr, f.shards[0][:1000])
			time.Sleep(10 * time.Millisecond)
			return nil // the client closes its end
		})
		if serr == nil {
			t.Fatal("a cut put was served")
		}
	})
	t.Run("client checks its arguments", func(t *testing.T) {
		e := memEnv(t)
		cerr, _ := e.run(otherPeer, func(s Stream) error { return Put(ctx, s, f.d, 0, f.shards[0][1:]) })
		wantErr(t, "short data", cerr, ErrWrongShard)
		cerr, _ = e.run(otherPeer, func(s Stream) error { return Put(ctx, s, f.d, 7, nil) })
		wantErr(t, "index", cerr, ErrBadRequest)
		cerr, _ = e.run(otherPeer, func(s Stream) error { return Put(ctx, s, nil, 0, nil) })
		wantErr(t, "nil descriptor", cerr, ErrBadRequest)
	})
}

// A holder does not hash what it serves (store.Lender): damaged shard
// bytes go out and the reader refuses them; damage the holder sees without
// hashing (a file cut short) is a refusal.
func TestGetDamagedOnDisk(t *testing.T) {
	st := diskStore(t, 0)
	e := newEnv(t, st)
	f := newFixture(t, 100_000)
	e.mustPut(f, 3)
	e.mustPut(f, 2)
	damageFile(t, st, f.ref(3))
	var data []byte
	cerr, serr := e.run(ownerID, func(s Stream) (err error) {
		data, err = Get(context.Background(), s, ownerID, holderID, f.d, 3, f.read, time.Now())
		return err
	})
	wantErr(t, "client, damaged bytes", cerr, ErrWrongShard)
	if serr != nil {
		t.Errorf("server, damaged bytes: %v", serr)
	}
	if data != nil {
		t.Fatal("damaged bytes were returned")
	}
	truncateFile(t, st, f.ref(2))
	cerr, serr = e.run(ownerID, func(s Stream) (err error) {
		data, err = Get(context.Background(), s, ownerID, holderID, f.d, 2, f.read, time.Now())
		return err
	})
	wantErr(t, "client, file cut short", cerr, ErrNotFound)
	wantErr(t, "server, file cut short", serr, ErrNotFound, store.ErrCorrupt)
	if data != nil {
		t.Fatal("damaged bytes were returned")
	}
}

func TestLyingHolder(t *testing.T) {
	f := newFixture(t, 4*2*erasure.PieceSize)
	ls := &lyingStore{Store: store.NewMemStore(0)}
	e := newEnv(t, ls)
	e.mustPut(f, 1)
	data, err := e.get(f, 1)
	wantErr(t, "get", err, ErrWrongShard, erasure.ErrShardMismatch)
	if data != nil {
		t.Fatal("wrong bytes were returned")
	}
	cerr, _ := e.run(coHolder, func(s Stream) error {
		_, err := GetAuthorized(context.Background(), s, f.d, 1)
		return err
	})
	wantErr(t, "authorized get", cerr, ErrWrongShard)
}

// TestLyingHolderHeader: a holder announcing the wrong length is caught
// before its bytes are read.
func TestLyingHolderHeader(t *testing.T) {
	f := newFixture(t, 10_000)
	c, s := pipe()
	defer c.Close()
	go func() {
		defer s.Close()
		br := bufio.NewReader(s)
		if _, err := readHeader(br, 1<<16); err != nil {
			return
		}
		writeMsg(s, marshal(&response{Version: wireVersion, Status: codeOK, Size: f.d.ShardSize + 1}), make([]byte, f.d.ShardSize+1))
	}()
	_, err := Get(context.Background(), c, ownerID, holderID, f.d, 0, f.read, time.Now())
	wantErr(t, "get", err, ErrWrongShard)
}

func TestAudit(t *testing.T) {
	f := newFixture(t, 4*5*erasure.PieceSize+77) // 6 pieces per shard
	t.Run("damaged on disk", func(t *testing.T) {
		st := diskStore(t, 0)
		e := newEnv(t, st)
		e.mustPut(f, 2)
		damageFile(t, st, f.ref(2))
		wantErr(t, "audit", e.audit(coHolder, f, 2, 0), ErrNotFound)
	})
	t.Run("bytes lost behind has", func(t *testing.T) {
		ls := &lyingStore{Store: store.NewMemStore(0), lost: true}
		e := newEnv(t, ls)
		e.mustPut(f, 2)
		if !e.has(f, 2) {
			t.Fatal("the lying holder should claim the shard")
		}
		for piece := range f.d.Pieces() {
			wantErr(t, "audit", e.audit(coHolder, f, 2, piece), ErrWrongShard, erasure.ErrBadProof)
		}
	})
	t.Run("flipped bit", func(t *testing.T) {
		ls := &lyingStore{Store: store.NewMemStore(0)}
		e := newEnv(t, ls)
		e.mustPut(f, 2)
		mid := int(f.d.ShardSize/2) / erasure.PieceSize
		wantErr(t, "audit", e.audit(coHolder, f, 2, mid), ErrWrongShard, erasure.ErrBadProof)
	})
	t.Run("not approved", func(t *testing.T) {
		e := memEnv(t)
		e.mustPut(f, 2)
		wantErr(t, "audit", e.audit(otherPeer, f, 2, 0), ErrDenied)
		e.h.Auth = nil
		wantErr(t, "audit without Authorizer", e.audit(coHolder, f, 2, 0), ErrDenied)
	})
	t.Run("not held", func(t *testing.T) {
		e := memEnv(t)
		wantErr(t, "audit", e.audit(coHolder, f, 2, 0), ErrNotFound)
	})
	t.Run("piece out of range", func(t *testing.T) {
		e := memEnv(t)
		e.mustPut(f, 2)
		wantErr(t, "client", e.audit(coHolder, f, 2, f.d.Pieces()), ErrBadRequest)
		id := f.d.ID()
		req := &request{Version: wireVersion, Op: opAudit, Stripe: id[:], Index: 2, Piece: f.d.Pieces()}
		cerr, _ := e.run(coHolder, func(s Stream) error { return zeroClient.do(context.Background(), s, req, nil, nil) })
		wantErr(t, "server", cerr, ErrBadRequest)
	})
}

func TestDeleteWithoutShard(t *testing.T) {
	// A holder that never had the stripe still records the deletion when
	// the descriptor comes with the proof.
	e := memEnv(t)
	f := newFixture(t, 1000)
	cerr, _ := e.run(ownerID, func(s Stream) error {
		return Delete(context.Background(), s, ownerID, holderID, f.d, 4, f.del, time.Now())
	})
	if cerr != nil {
		t.Fatal(cerr)
	}
	wantErr(t, "put", e.put(f, 4), ErrDeleted)
}

func TestDeleteRefused(t *testing.T) {
	ctx := context.Background()
	e := memEnv(t)
	f := newFixture(t, 1000)
	e.mustPut(f, 1)
	cases := map[string]func(s Stream) error{
		"read secret": func(s Stream) error {
			id := f.d.ID()
			p := newProof(domainDelete, id, 1, holderID, ownerID, time.Now(), f.read.Prove)
			return zeroClient.do(ctx, s, &request{Version: wireVersion, Op: opDelete, Stripe: id[:], Index: 1, Proof: p}, nil, nil)
		},
		"other holder": func(s Stream) error {
			return Delete(ctx, s, ownerID, otherPeer, f.d, 1, f.del, time.Now())
		},
		"stale": func(s Stream) error {
			return Delete(ctx, s, ownerID, holderID, f.d, 1, f.del, time.Now().Add(-time.Hour))
		},
	}
	for name, fn := range cases {
		cerr, serr := e.run(ownerID, fn)
		wantErr(t, name, cerr, ErrDenied)
		wantErr(t, name+" (server)", serr, ErrDenied)
	}
	if !e.has(f, 1) {
		t.Fatal("deleted without a valid proof")
	}
	if del, _ := IsDeleted(ctx, e.st.Records(), f.d.ID()); del {
		t.Fatal("deletion recorded without a valid proof")
	}
}

func TestConcurrentPutDelete(t *testing.T) {
	// Whatever the order, a stripe with a deletion record holds no shard
	// once both are done.
	ctx := context.Background()
	for range 10 {
		e := memEnv(t)
		f := newFixture(t, 10_000)
		errc := make(chan error, 1)
		go func() { errc <- e.put(f, 0) }()
		cerr, _ := e.run(ownerID, func(s Stream) error {
			return Delete(ctx, s, ownerID, holderID, f.d, 0, f.del, time.Now())
		})
		perr := <-errc
		if cerr != nil {
			t.Fatal(cerr)
		}
		if perr != nil && !errors.Is(perr, ErrDeleted) {
			t.Fatal(perr)
		}
		if e.has(f, 0) {
			t.Fatal("a deleted stripe came back")
		}
	}
}

// TestGetInto: a shard is read into the caller's buffer when it has the
// shard's size (the result is that buffer), into a new one otherwise, and
// bytes that fail the CID check are refused either way.
func TestGetInto(t *testing.T) {
	f := newFixture(t, 4*2*erasure.PieceSize+5)
	e := newEnv(t, store.NewMemStore(0))
	e.mustPut(f, 2)
	getInto := func(e *env, dst []byte) ([]byte, error) {
		var data []byte
		cerr, _ := e.run(ownerID, func(s Stream) (err error) {
			data, err = GetInto(context.Background(), s, ownerID, holderID, f.d, 2, f.read, time.Now(), dst)
			return err
		})
		return data, cerr
	}
	dst := make([]byte, f.d.ShardSize)
	data, err := getInto(e, dst)
	if err != nil || !bytes.Equal(data, f.shards[2]) || &data[0] != &dst[0] {
		t.Fatalf("into a buffer of the shard's size: %v", err)
	}
	short := make([]byte, f.d.ShardSize-1)
	data, err = getInto(e, short)
	if err != nil || !bytes.Equal(data, f.shards[2]) || &data[0] == &short[0] {
		t.Fatalf("into a short buffer: %v", err)
	}
	ls := &lyingStore{Store: store.NewMemStore(0)}
	el := newEnv(t, ls)
	el.mustPut(f, 2)
	data, err = getInto(el, dst)
	wantErr(t, "get into, from a liar", err, ErrWrongShard, erasure.ErrShardMismatch)
	if data != nil {
		t.Fatal("wrong bytes were returned")
	}
}
