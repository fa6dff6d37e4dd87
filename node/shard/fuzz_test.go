package shard

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"reflect"
	"testing"
	"time"

	"respaldo/node/store"
)

// seedRequests returns framed requests of every operation, put with its
// shard bytes, for a stripe that f describes.
func seedRequests(f *fixture) [][]byte {
	id := f.d.ID()
	now := time.Now()
	reqs := []*request{
		{Version: wireVersion, Op: opPut, Stripe: id[:], Index: 1, Desc: f.d.Marshal(), Size: f.d.ShardSize},
		{Version: wireVersion, Op: opGet, Stripe: id[:], Index: 0, Proof: newProof(domainGet, id, 0, holderID, ownerID, now, f.read.Prove)},
		{Version: wireVersion, Op: opGet, Stripe: id[:], Index: 0},
		{Version: wireVersion, Op: opHas, Stripe: id[:], Index: 0},
		{Version: wireVersion, Op: opDelete, Stripe: id[:], Index: 0, Desc: f.d.Marshal(), Proof: newProof(domainDelete, id, 0, holderID, ownerID, now, f.del.Prove)},
		{Version: wireVersion, Op: opAudit, Stripe: id[:], Index: 0, Piece: 0},
		{Version: wireVersion, Op: opLocate, Stripe: id[:]},
	}
	var out [][]byte
	for _, r := range reqs {
		b := frame(marshal(r))
		if r.Op == opPut {
			b = append(b, f.shards[1]...)
		}
		out = append(out, b)
	}
	return out
}

// FuzzDecodeHeader: outside bytes never panic; whatever decodes is valid
// and re-encodes to exactly the same bytes.
func FuzzDecodeHeader(f *testing.F) {
	fx := newFixture(f, 1000)
	for _, b := range seedRequests(fx) {
		f.Add(b[len(uvarint(0)):]) // roughly: the header, maybe with a prefix byte left
		hdr, err := readHeader(bufio.NewReader(bytes.NewReader(b)), 1<<16)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(hdr)
	}
	for _, r := range []*response{
		{Version: 1, Status: codeOK, Size: 250},
		{Version: 1, Status: codeOK, Held: true, Size: 7},
		{Version: 1, Status: codeOK, Size: 100, Proof: [][]byte{make([]byte, 32), make([]byte, 32)}},
		{Version: 1, Status: "denied", Message: "no proof"},
		{Version: 1, Status: codeOK, Size: 300, Indexes: []int{0, 3, 5}},
		{Version: 1, Status: codeOK, Size: 300, Indexes: []int{3, 3}},
		{Version: 1, Status: "bad-request", Message: `unknown operation "locate"`},
	} {
		f.Add(marshal(r))
	}
	f.Add([]byte{})
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := decodeRequest(b); err == nil {
			if enc := marshal(r); !bytes.Equal(enc, b) {
				t.Fatalf("request re-encodes differently:\n in %x\nout %x", b, enc)
			}
			if r2, err := decodeRequest(b); err != nil || !reflect.DeepEqual(r, r2) {
				t.Fatalf("request decodes differently the second time: %v", err)
			}
		} else if r != nil || !errors.Is(err, ErrBadRequest) {
			t.Fatalf("request: %v with %v", err, r)
		}
		if r, err := decodeResponse(b); err == nil {
			if enc := marshal(r); !bytes.Equal(enc, b) {
				t.Fatalf("response re-encodes differently:\n in %x\nout %x", b, enc)
			}
			_ = r.err()
		} else if r != nil || !errors.Is(err, ErrInternal) {
			t.Fatalf("response: %v with %v", err, r)
		}
		readHeader(bufio.NewReader(bytes.NewReader(b)), 1<<16)
	})
}

// FuzzServe feeds random bytes to a handler over a pipe: it never panics
// and always returns.
func FuzzServe(f *testing.F) {
	fx := newFixture(f, 1000)
	for _, b := range seedRequests(fx) {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x01, 0xa0})
	st := store.NewMemStore(0)
	if err := st.Put(context.Background(), fx.d, 0, fx.shards[0]); err != nil {
		f.Fatal(err)
	}
	h := &Handler{
		Store:  st,
		Self:   holderID,
		Auth:   &auth{get: map[string]bool{ownerID: true}, audit: map[string]bool{ownerID: true}},
		Limits: Limits{StallTimeout: 100 * time.Millisecond, MaxProofs: 1 << 20},
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, s := pipe()
		done := make(chan error, 1)
		go func() {
			done <- h.Serve(context.Background(), ownerID, s)
			s.Close()
		}()
		go io.Copy(io.Discard, c)
		c.Write(in)
		c.Close()
		select {
		case err := <-done:
			if errors.Is(err, errPanic) {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second * timescale()):
			t.Fatal("Serve did not return")
		}
	})
}
