package shard

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"respaldo/crypto"
	"respaldo/erasure"
	"respaldo/node/store"
)

// Peer IDs of the tests.
const (
	holderID  = "12D3KooWHolder"
	ownerID   = "12D3KooWOwner"
	coHolder  = "12D3KooWCoHolder"
	otherPeer = "12D3KooWOther"
)

// timescale stretches upper bounds on elapsed time on slow machines
// (RESPALDO_TEST_TIMESCALE, as .ci/run sets it).
func timescale() time.Duration {
	if n, err := strconv.Atoi(os.Getenv("RESPALDO_TEST_TIMESCALE")); err == nil && n > 0 {
		return time.Duration(n)
	}
	return 1
}

// pipeStream is one end of net.Pipe as a Stream; net.Pipe cannot half-close,
// which the protocol does not need.
type pipeStream struct{ net.Conn }

func (pipeStream) CloseWrite() error { return nil }

func pipe() (client, server pipeStream) {
	c, s := net.Pipe()
	return pipeStream{c}, pipeStream{s}
}

// fixture is a stripe with known secrets.
type fixture struct {
	d      *erasure.Descriptor
	shards [][]byte
	read   crypto.ReadSecret
	del    crypto.DeleteSecret
}

func random32(t testing.TB) (b [32]byte) {
	t.Helper()
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return b
}

// newFixture codes size random bytes at 4+2.
func newFixture(t testing.TB, size int) *fixture {
	t.Helper()
	f := &fixture{read: crypto.ReadSecret(random32(t)), del: crypto.DeleteSecret(random32(t))}
	sec := erasure.Secrets{Nonce: random32(t), DeleteKey: f.del.ProofKey(), ReadKey: f.read.ProofKey()}
	blob := make([]byte, size)
	rand.Read(blob)
	d, shards, err := erasure.Encode(blob, erasure.DefaultParams, sec)
	if err != nil {
		t.Fatal(err)
	}
	f.d, f.shards = d, shards
	return f
}

func (f *fixture) ref(i int) store.ShardRef { return store.ShardRef{Stripe: f.d.ID(), Index: i} }

// auth approves gets and audits by the listed peers.
type auth struct {
	get, audit map[string]bool
}

func (a *auth) AllowGet(remote string, _ erasure.StripeID, _ int) bool   { return a.get[remote] }
func (a *auth) AllowAudit(remote string, _ erasure.StripeID, _ int) bool { return a.audit[remote] }

// env is a holder: a Handler over a store.
type env struct {
	t  testing.TB
	h  *Handler
	st store.Store
}

func newEnv(t testing.TB, st store.Store) *env {
	t.Helper()
	h := &Handler{
		Store: st,
		Self:  holderID,
		Auth:  &auth{get: map[string]bool{coHolder: true}, audit: map[string]bool{coHolder: true}},
		Log:   slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	return &env{t: t, h: h, st: st}
}

func memEnv(t testing.TB) *env { return newEnv(t, store.NewMemStore(0)) }

func diskStore(t testing.TB, capacity int64) *store.DiskStore {
	t.Helper()
	opts := store.DefaultOptions()
	opts.CapacityBytes = capacity
	opts.ReserveBytes = 0
	opts.GCInterval = -1
	s, err := store.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// run serves one stream from remote while client speaks on the other end,
// and returns both sides' errors.
func (e *env) run(remote string, client func(s Stream) error) (clientErr, serverErr error) {
	return e.runCtx(context.Background(), remote, client)
}

func (e *env) runCtx(ctx context.Context, remote string, client func(s Stream) error) (clientErr, serverErr error) {
	c, s := pipe()
	done := make(chan error, 1)
	go func() {
		done <- e.h.Serve(ctx, remote, s)
		s.Close()
	}()
	clientErr = client(c)
	c.Close()
	return clientErr, <-done
}

func (e *env) put(f *fixture, i int) error {
	cerr, _ := e.run(otherPeer, func(s Stream) error {
		return Put(context.Background(), s, f.d, i, f.shards[i])
	})
	return cerr
}

func (e *env) mustPut(f *fixture, idx ...int) {
	e.t.Helper()
	for _, i := range idx {
		if err := e.put(f, i); err != nil {
			e.t.Fatalf("put %d: %v", i, err)
		}
	}
}

func (e *env) get(f *fixture, i int) ([]byte, error) {
	var data []byte
	cerr, _ := e.run(ownerID, func(s Stream) (err error) {
		data, err = Get(context.Background(), s, ownerID, holderID, f.d, i, f.read, time.Now())
		return err
	})
	return data, cerr
}

func (e *env) has(f *fixture, i int) bool {
	e.t.Helper()
	var held bool
	cerr, _ := e.run(otherPeer, func(s Stream) (err error) {
		held, err = Has(context.Background(), s, f.d.ID(), i)
		return err
	})
	if cerr != nil {
		e.t.Fatalf("has %d: %v", i, cerr)
	}
	return held
}

func (e *env) audit(remote string, f *fixture, i, piece int) error {
	cerr, _ := e.run(remote, func(s Stream) error {
		return Audit(context.Background(), s, f.d, i, piece)
	})
	return cerr
}

// wantErr fails unless err wraps every one of want.
func wantErr(t testing.TB, what string, err error, want ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %v", what, want)
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Fatalf("%s: error %q does not wrap %q", what, err, w)
		}
	}
	if strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("%s: error is not one line: %q", what, err)
	}
}

// damageFile flips a bit in the last byte of a shard file of a DiskStore.
func damageFile(t testing.TB, s *store.DiskStore, ref store.ShardRef) {
	t.Helper()
	editFile(t, s, ref, func(b []byte) []byte { b[len(b)-1] ^= 1; return b })
}

// truncateFile cuts the last byte off ref's shard file.
func truncateFile(t testing.TB, s *store.DiskStore, ref store.ShardRef) {
	t.Helper()
	editFile(t, s, ref, func(b []byte) []byte { return b[:len(b)-1] })
}

func editFile(t testing.TB, s *store.DiskStore, ref store.ShardRef, edit func([]byte) []byte) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.Dir(), "shards", "*", "*-"+ref.Stripe.String()+"-"+strconv.Itoa(ref.Index)+".shard"))
	if err != nil || len(files) != 1 {
		t.Fatalf("shard file of %v: %v %v", ref, files, err)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files[0], edit(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

// lyingStore serves wrong bytes: its Get flips a bit of what it holds, or
// gives zeros when lost is set, behind the holder's back.
type lyingStore struct {
	store.Store
	mu   sync.Mutex
	lost bool
}

func (l *lyingStore) Get(ctx context.Context, ref store.ShardRef) ([]byte, error) {
	b, err := l.Store.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost {
		return make([]byte, len(b)), nil
	}
	if len(b) > 0 {
		b[len(b)/2] ^= 0x40
	}
	return b, nil
}
