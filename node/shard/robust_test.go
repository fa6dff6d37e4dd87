package shard

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"respaldo/erasure"
)

// serveAsync serves one stream from remote and returns the client end and
// the channel of Serve's result.
func (e *env) serveAsync(ctx context.Context, remote string) (pipeStream, <-chan error) {
	c, s := pipe()
	done := make(chan error, 1)
	go func() {
		done <- e.h.Serve(ctx, remote, s)
		s.Close()
	}()
	return c, done
}

func waitErr(t *testing.T, done <-chan error, within time.Duration) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(within * timescale()):
		t.Fatalf("no result within %v", within*timescale())
		return nil
	}
}

func putHeader(f *fixture, i int) []byte {
	id := f.d.ID()
	return marshal(&request{Version: wireVersion, Op: opPut, Stripe: id[:], Index: i, Desc: f.d.Marshal(), Size: f.d.ShardSize})
}

func TestStallServer(t *testing.T) {
	e := memEnv(t)
	e.h.Limits.StallTimeout = 200 * time.Millisecond
	f := newFixture(t, 4<<20)
	c, done := e.serveAsync(context.Background(), otherPeer)
	defer c.Close()
	start := time.Now()
	if err := writeMsg(c, putHeader(f, 0), f.shards[0][:100<<10]); err != nil {
		t.Fatal(err)
	}
	// ...and nothing more: the holder must give up on its own.
	err := waitErr(t, done, 3*time.Second)
	wantErr(t, "server", err, ErrStalled)
	t.Logf("cut off %v after the start", time.Since(start))
}

func TestStallClient(t *testing.T) {
	f := newFixture(t, 400_000)
	cl := Client{Limits: Limits{StallTimeout: 200 * time.Millisecond}}
	// silent answers nothing after reading the request; half sends half a
	// shard and stops.
	for name, holder := range map[string]func(s pipeStream){
		"silent": func(s pipeStream) {},
		"half": func(s pipeStream) {
			writeMsg(s, marshal(&response{Version: wireVersion, Status: codeOK, Size: f.d.ShardSize}), f.shards[0][:f.d.ShardSize/2])
		},
	} {
		t.Run(name, func(t *testing.T) {
			c, s := pipe()
			defer c.Close()
			defer s.Close()
			go func() {
				if _, err := readHeader(bufio.NewReader(s), 1<<16); err == nil {
					holder(s)
				}
			}()
			start := time.Now()
			_, err := cl.Get(context.Background(), c, ownerID, holderID, f.d, 0, f.read, time.Now())
			wantErr(t, "get", err, ErrStalled)
			if d := time.Since(start); d > 2*time.Second*timescale() {
				t.Fatalf("cut off only after %v", d)
			}
		})
	}
}

// slowStream writes at 80 KiB/s, in pieces of at most 4 KiB.
type slowStream struct{ pipeStream }

func (s slowStream) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n := min(len(p)-done, 4096)
		time.Sleep(time.Duration(n) * time.Second / (80 << 10))
		n, err := s.pipeStream.Write(p[done : done+n])
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// TestSlowButSteady: a transfer that takes many stall timeouts but keeps
// above the minimum rate is not cut off.
func TestSlowButSteady(t *testing.T) {
	lim := Limits{StallTimeout: 200 * time.Millisecond, MinRate: 16 << 10}
	e := memEnv(t)
	e.h.Limits = lim
	f := newFixture(t, 400_000) // 100 kB shards: about 1.25 s at 80 KiB/s
	start := time.Now()
	cerr, serr := e.run(otherPeer, func(s Stream) error {
		return (&Client{Limits: lim}).Put(context.Background(), slowStream{s.(pipeStream)}, f.d, 0, f.shards[0])
	})
	if cerr != nil || serr != nil {
		t.Fatalf("slow put: %v / %v", cerr, serr)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("the slow put took only %v", d)
	}
}

func TestBusy(t *testing.T) {
	e := memEnv(t)
	e.h.Limits.PerPeer = 1
	f := newFixture(t, 4<<20)
	// The first stream of otherPeer hangs inside its put.
	c1, done1 := e.serveAsync(context.Background(), otherPeer)
	if err := writeMsg(c1, putHeader(f, 0), f.shards[0][:1000]); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var busyErr error
	cerr, serr := e.run(otherPeer, func(s Stream) error {
		_, err := Has(context.Background(), s, f.d.ID(), 0)
		return err
	})
	wantErr(t, "second stream", cerr, ErrBusy)
	wantErr(t, "second stream (server)", serr, ErrBusy)
	busyErr = cerr
	if d := time.Since(start); d > time.Second*timescale() {
		t.Fatalf("busy only after %v", d)
	}
	// Another peer is served meanwhile.
	cerr, _ = e.run(coHolder, func(s Stream) error {
		_, err := Has(context.Background(), s, f.d.ID(), 0)
		return err
	})
	if cerr != nil {
		t.Fatal(cerr)
	}
	c1.Close()
	waitErr(t, done1, 3*time.Second)
	// The slot is free again.
	if e.has(f, 0) {
		t.Fatal("the cut put stored something")
	}
	t.Log(busyErr)
}

func TestCancel(t *testing.T) {
	e := memEnv(t)
	f := newFixture(t, 4<<20)
	ctx, cancel := context.WithCancel(context.Background())
	c, done := e.serveAsync(ctx, otherPeer)
	defer c.Close()
	if err := writeMsg(c, putHeader(f, 0), f.shards[0][:1000]); err != nil {
		t.Fatal(err)
	}
	cancel()
	err := waitErr(t, done, 2*time.Second)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve after cancel: %v", err)
	}
	// And the client side.
	c2, s2 := pipe()
	defer c2.Close()
	defer s2.Close()
	go io.Copy(io.Discard, s2)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	_, err = Has(ctx2, c2, f.d.ID(), 0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Has after deadline: %v", err)
	}
}

func uvarint(n int) []byte { return binary.AppendUvarint(nil, uint64(n)) }

func frame(hdr []byte) []byte { return append(uvarint(len(hdr)), hdr...) }

func TestGarbage(t *testing.T) {
	f := newFixture(t, 1000)
	id := f.d.ID()
	m := func(kv map[int]any) []byte { return frame(marshal(kv)) }
	good := map[int]any{0: 1, 1: "has", 2: id[:], 3: 0}
	with := func(k int, v any) []byte {
		kv := map[int]any{}
		for a, b := range good {
			kv[a] = b
		}
		if v == nil {
			delete(kv, k)
		} else {
			kv[k] = v
		}
		return m(kv)
	}
	proof := map[int]any{0: time.Now().Unix(), 1: make([]byte, 16), 2: make([]byte, 64)}
	cases := map[string][]byte{
		"zero length":           {0x00},
		"prefix too long":       {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"prefix not minimal":    {0x81, 0x00},
		"header too long":       uvarint(64<<10 + 1),
		"not a map":             frame([]byte{0x80}),
		"bad CBOR":              frame([]byte{0xa1, 0xff}),
		"indefinite map":        frame([]byte{0xbf, 0x00, 0x01, 0xff}),
		"tag":                   frame([]byte{0xc1, 0xa0}),
		"duplicate key":         frame([]byte{0xa2, 0x00, 0x01, 0x00, 0x01}),
		"trailing bytes":        frame(append(marshal(good), 0x00)),
		"unknown field":         with(9, 1),
		"zero field present":    with(6, 0),
		"version 2":             with(0, 2),
		"no version":            with(0, nil),
		"unknown op":            with(1, "steal"),
		"op not text":           with(1, 7),
		"short stripe":          with(2, id[:31]),
		"index 300":             with(3, 300),
		"negative index":        with(3, -1),
		"huge index":            with(3, uint64(1)<<63),
		"has with descriptor":   with(4, f.d.Marshal()),
		"has with proof":        with(7, proof),
		"put without desc":      with(1, "put"),
		"delete without proof":  with(1, "delete"),
		"short signature":       m(map[int]any{0: 1, 1: "get", 2: id[:], 3: 0, 7: map[int]any{0: 1, 1: make([]byte, 16), 2: make([]byte, 63)}}),
		"audit piece 5000":      m(map[int]any{0: 1, 1: "audit", 2: id[:], 3: 0, 6: 5000}),
		"put negative size":     m(map[int]any{0: 1, 1: "put", 2: id[:], 3: 0, 4: f.d.Marshal(), 5: -1}),
		"put bad descriptor":    m(map[int]any{0: 1, 1: "put", 2: id[:], 3: 0, 4: []byte{0xa0}, 5: 1}),
		"float index":           with(3, 1.5),
		"locate with index":     m(map[int]any{0: 1, 1: "locate", 2: id[:], 3: 2}),
		"locate with desc":      m(map[int]any{0: 1, 1: "locate", 2: id[:], 3: 0, 4: f.d.Marshal()}),
		"locate with proof":     m(map[int]any{0: 1, 1: "locate", 2: id[:], 3: 0, 7: proof}),
		"truncated map":         frame(marshal(good)[:10]),
		"descriptor over limit": m(map[int]any{0: 1, 1: "put", 2: id[:], 3: 0, 4: make([]byte, erasure.MaxDescriptorSize+1)}),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			e := memEnv(t)
			c, done := e.serveAsync(context.Background(), otherPeer)
			defer c.Close()
			go c.Write(in)
			resp, err := readResponse(bufio.NewReader(c), 1<<16)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			wantErr(t, "answer", resp.err(), ErrBadRequest)
			serr := waitErr(t, done, 2*time.Second)
			wantErr(t, "server", serr, ErrBadRequest)
			t.Log(serr)
		})
	}
	t.Run("empty stream", func(t *testing.T) {
		e := memEnv(t)
		c, done := e.serveAsync(context.Background(), otherPeer)
		c.Close()
		wantErr(t, "server", waitErr(t, done, 2*time.Second), ErrBadRequest)
	})
	t.Run("header cut short", func(t *testing.T) {
		e := memEnv(t)
		c, done := e.serveAsync(context.Background(), otherPeer)
		c.Write(frame(marshal(good))[:10])
		c.Close()
		wantErr(t, "server", waitErr(t, done, 2*time.Second), ErrBadRequest)
	})
}

func TestGarbageResponse(t *testing.T) {
	f := newFixture(t, 1000)
	cases := map[string][]byte{
		"nothing":         nil,
		"not CBOR":        frame([]byte{0xff}),
		"unknown status":  frame(marshal(&response{Version: 1, Status: "exploded"})),
		"two lines":       frame(marshal(&response{Version: 1, Status: "denied", Message: "a\nb"})),
		"error with body": frame(marshal(&response{Version: 1, Status: "denied", Size: 5})),
		"short hash":      frame(marshal(&response{Version: 1, Status: "ok", Proof: [][]byte{{1}}})),
		"17 hashes":       frame(marshal(&response{Version: 1, Status: "ok", Proof: make([][]byte, 17)})),
		"version 9":       frame(marshal(&response{Version: 9, Status: "ok"})),
		"prefix too long": uvarint(1 << 20),
	}
	for name, out := range cases {
		t.Run(name, func(t *testing.T) {
			c, s := pipe()
			defer c.Close()
			go func() {
				defer s.Close()
				if _, err := readHeader(bufio.NewReader(s), 1<<16); err == nil {
					s.Write(out)
				}
			}()
			_, err := Has(context.Background(), c, f.d.ID(), 0)
			wantErr(t, "has", err, ErrInternal)
			t.Log(err)
		})
	}
}

func TestCodes(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range codes {
		if seen[c.code] {
			t.Fatalf("code %q twice", c.code)
		}
		seen[c.code] = true
		if errorToCode(refuse(c.err, "x")) != c.code || codeToError(c.code) != c.err {
			t.Fatalf("%q does not round-trip", c.code)
		}
		resp := &response{Version: wireVersion, Status: c.code, Message: "detail"}
		if !errors.Is(resp.err(), c.err) {
			t.Fatalf("response %q gives %v", c.code, resp.err())
		}
	}
	if errorToCode(errors.New("disk on fire")) != "internal" {
		t.Fatal("an unknown error is not internal")
	}
	if got := oneLine("a\nb\x00c\xffd", 5); got != "a b c" {
		t.Fatalf("oneLine = %q", got)
	}
	if got := oneLine("ñññ", 5); got != "ññ" {
		t.Fatalf("oneLine cut inside a rune: %q", got)
	}
}
