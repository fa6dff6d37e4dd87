package shard

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"respaldo/erasure"
)

func (e *env) locate(f *fixture) (*erasure.Descriptor, []int, error) {
	var (
		d    *erasure.Descriptor
		held []int
	)
	cerr, _ := e.run(otherPeer, func(s Stream) (err error) {
		d, held, err = Locate(context.Background(), s, f.d.ID())
		return err
	})
	return d, held, cerr
}

func TestLocate(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		f := newFixture(t, 3*erasure.PieceSize+1000)
		_, _, err := e.locate(f)
		wantErr(t, "locate before any put", err, ErrNotFound)
		e.mustPut(f, 0, 3, 5)
		d, held, err := e.locate(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d.Marshal(), f.d.Marshal()) || !slices.Equal(held, []int{0, 3, 5}) {
			t.Fatalf("locate = %v, %v", d.ID(), held)
		}
		if err := e.st.Delete(ctx, f.ref(3)); err != nil {
			t.Fatal(err)
		}
		if _, held, err = e.locate(f); err != nil || !slices.Equal(held, []int{0, 5}) {
			t.Fatalf("locate after losing shard 3 = %v, %v", held, err)
		}
		other := newFixture(t, 1000)
		_, _, err = e.locate(other)
		wantErr(t, "locate of a stripe not held", err, ErrNotFound)
		cerr, serr := e.run(ownerID, func(s Stream) error {
			return Delete(ctx, s, ownerID, holderID, f.d, 0, f.del, time.Now())
		})
		if cerr != nil || serr != nil {
			t.Fatalf("delete: %v / %v", cerr, serr)
		}
		_, _, err = e.locate(f)
		wantErr(t, "locate after delete", err, ErrDeleted)
		t.Log(err)
	})
}

// The largest stripe: a descriptor near MaxDescriptorSize and 256 indexes.
func TestLocateLargest(t *testing.T) {
	e := memEnv(t)
	ctx := context.Background()
	p := erasure.Params{K: 128, M: 128}
	d, shards, err := erasure.Encode(make([]byte, 1000), p, erasure.Secrets{Nonce: random32(t)})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range shards {
		if err := e.st.Put(ctx, d, i, s); err != nil {
			t.Fatal(err)
		}
	}
	var held []int
	var got *erasure.Descriptor
	cerr, serr := e.run(otherPeer, func(s Stream) (err error) {
		got, held, err = Locate(ctx, s, d.ID())
		return err
	})
	if cerr != nil || serr != nil {
		t.Fatalf("locate: %v / %v", cerr, serr)
	}
	if got.ID() != d.ID() || len(held) != erasure.MaxShards || held[255] != 255 {
		t.Fatalf("locate gave %d indexes", len(held))
	}
	t.Logf("descriptor of %d bytes", len(d.Marshal()))
}

// fakeLocate runs cl.Locate against a holder that answers out once the
// request header arrived, then closes (or, with hold, waits 5 s first).
func fakeLocate(t *testing.T, cl *Client, id erasure.StripeID, out []byte, hold bool) error {
	t.Helper()
	c, s := pipe()
	defer c.Close()
	defer s.Close()
	go func() {
		if _, err := readHeader(bufio.NewReader(s), 1<<16); err == nil {
			s.Write(out)
			if hold {
				time.Sleep(5 * time.Second)
			}
		}
		s.Close()
	}()
	_, _, err := cl.Locate(context.Background(), c, id)
	return err
}

func TestLocateLyingHolder(t *testing.T) {
	f := newFixture(t, 1000)
	other := newFixture(t, 1000)
	id := f.d.ID()
	ok := func(held []int, body []byte) []byte {
		r := &response{Version: wireVersion, Status: codeOK, Size: int64(len(body)), Indexes: held}
		return append(frame(marshal(r)), body...)
	}
	desc := f.d.Marshal()
	err := fakeLocate(t, &zeroClient, id, ok([]int{0}, other.d.Marshal()), false)
	wantErr(t, "another stripe's descriptor", err, ErrWrongShard, erasure.ErrStripeIDMismatch)
	forged := bytes.Clone(desc)
	forged[len(forged)-1] ^= 1
	err = fakeLocate(t, &zeroClient, id, ok([]int{0}, forged), false)
	wantErr(t, "forged descriptor", err, ErrWrongShard)

	for name, out := range map[string][]byte{
		"unsorted":         ok([]int{2, 1}, desc),
		"duplicate":        ok([]int{1, 1}, desc),
		"negative":         ok([]int{-1, 2}, desc),
		"index 300":        ok([]int{300}, desc),
		"beyond k+m":       ok([]int{0, 6}, desc),
		"none held":        ok(nil, desc),
		"no descriptor":    ok([]int{0}, nil),
		"too long":         frame(marshal(&response{Version: wireVersion, Status: codeOK, Size: erasure.MaxDescriptorSize + 1, Indexes: []int{0}})),
		"error with held":  frame(marshal(&response{Version: wireVersion, Status: "not-found", Indexes: []int{0}})),
		"257 indexes":      frame(marshal(&response{Version: wireVersion, Status: codeOK, Size: 10, Indexes: make([]int, 257)})),
		"cut descriptor":   ok([]int{0}, desc)[:len(ok([]int{0}, desc))-3],
		"nothing answered": nil,
	} {
		t.Run(name, func(t *testing.T) {
			err := fakeLocate(t, &zeroClient, id, out, false)
			wantErr(t, "locate", err, ErrInternal)
			t.Log(err)
		})
	}
}

// A holder that predates the op refuses it as an unknown operation.
func TestLocateUnsupported(t *testing.T) {
	f := newFixture(t, 1000)
	old := frame(marshal(&response{Version: wireVersion, Status: "bad-request", Message: `unknown operation "locate"`}))
	err := fakeLocate(t, &zeroClient, f.d.ID(), old, false)
	wantErr(t, "old holder", err, ErrUnsupported, ErrBadRequest)
	t.Log(err)
	if errors.Is(fakeLocate(t, &zeroClient, f.d.ID(), frame(marshal(&response{Version: wireVersion, Status: "busy"})), false), ErrUnsupported) {
		t.Fatal("busy taken for unsupported")
	}
}

func TestLocateStall(t *testing.T) {
	f := newFixture(t, 1000)
	cl := &Client{Limits: Limits{StallTimeout: 200 * time.Millisecond}}
	desc := f.d.Marshal()
	half := append(frame(marshal(&response{Version: wireVersion, Status: codeOK, Size: int64(len(desc)), Indexes: []int{0}})), desc[:len(desc)/2]...)
	for name, out := range map[string][]byte{"silent": {}, "half": half} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			err := fakeLocate(t, cl, f.d.ID(), out, true)
			wantErr(t, "locate", err, ErrStalled)
			if d := time.Since(start); d > 2*time.Second*timescale() {
				t.Fatalf("cut off only after %v", d)
			}
		})
	}
	// The holder side: a requester that stops inside its locate request.
	e := memEnv(t)
	e.h.Limits.StallTimeout = 200 * time.Millisecond
	c, done := e.serveAsync(context.Background(), otherPeer)
	defer c.Close()
	id := f.d.ID()
	req := frame(marshal(&request{Version: wireVersion, Op: opLocate, Stripe: id[:]}))
	if _, err := c.Write(req[:len(req)-5]); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "server", waitErr(t, done, 3*time.Second), ErrStalled)
}

func TestLocateBusy(t *testing.T) {
	e := memEnv(t)
	e.h.Limits.PerPeer = 1
	f := newFixture(t, 4<<20)
	e.mustPut(f, 1)
	c1, done1 := e.serveAsync(context.Background(), otherPeer)
	if err := writeMsg(c1, putHeader(f, 0), f.shards[0][:1000]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the put take its slot
	_, _, err := e.locate(f)
	wantErr(t, "second stream", err, ErrBusy)
	c1.Close()
	waitErr(t, done1, 3*time.Second)
	if _, held, err := e.locate(f); err != nil || !slices.Equal(held, []int{1}) {
		t.Fatalf("locate after the slot freed = %v, %v", held, err)
	}
}
