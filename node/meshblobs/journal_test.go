package meshblobs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/store"
)

// refusingStore fails every Put while refuse is set (a full disk, say),
// after a moment, so that the other holders acknowledge first.
type refusingStore struct {
	store.Store
	refuse *atomic.Bool
}

func (s refusingStore) Put(ctx context.Context, d *erasure.Descriptor, index int, data []byte) error {
	if s.refuse.Load() {
		time.Sleep(300 * time.Millisecond)
		return errors.New("refusing puts")
	}
	return s.Store.Put(ctx, d, index, data)
}

func journalFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), journalSpare) { // not entries
			out = append(out, e.Name())
		}
	}
	return out
}

// journalMesh starts six storage nodes in three zones and returns a writer
// whose put journal is dir.
func journalMesh(t *testing.T) (ctx context.Context, dir string, b *Blobs) {
	t.Helper()
	ctx = testCtx(t, time.Minute)
	m := newTestMesh(t, []mesh.Zone{"a", "a", "b", "b", "c", "c"}, nil)
	dir = t.TempDir()
	c := m.config(memberKeys())
	c.Journal = dir
	return ctx, dir, m.blobs(c)
}

func ackLines(t *testing.T, dir string, id erasure.StripeID) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, id.String()+journalAcks))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// A put cut off after some holders acknowledged: the resume sends exactly
// the others, and the blob reads back.
func TestJournalResumeSendsOnlyUnacknowledgedShards(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	refuse := new(atomic.Bool)
	zones := []mesh.Zone{"a", "a", "b", "b", "c", "c"}
	m := newTestMesh(t, zones, func(i int, s store.Store) store.Store {
		if i == 0 {
			return refusingStore{s, refuse}
		}
		return s
	})
	dir := t.TempDir()
	c := m.config(memberKeys())
	c.Journal, c.MaxAttempts = dir, 1
	b := m.blobs(c)
	wk := writeKeys(t)
	n := erasure.DefaultParams.Total()

	// Find a blob whose placement uses node 0, refusing: its put fails.
	refuse.Store(true)
	var id erasure.StripeID
	var blob []byte
	for seed := range uint64(40) {
		blob = randBlob(seed, 1<<20+int(seed))
		var doneCalls int
		_, err := b.PutJournaled(ctx, blob, secrets(t, wk), []byte("note"), func(erasure.StripeID) error { doneCalls++; return nil })
		if err == nil {
			if doneCalls != 1 || len(journalFiles(t, dir)) != 0 {
				t.Fatalf("a finished put: done called %d times, journal %v", doneCalls, journalFiles(t, dir))
			}
			continue
		}
		if doneCalls != 0 {
			t.Fatal("done called for a failed put")
		}
		files := journalFiles(t, dir)
		if len(files) != 2 {
			t.Fatalf("journal after a failed put: %v", files)
		}
		id, _ = erasure.ParseStripeID(strings.TrimSuffix(files[0], journalAcks))
		break
	}
	if id == (erasure.StripeID{}) {
		t.Fatal("no put went to the refusing node")
	}
	acked := ackLines(t, dir, id)
	if acked >= n || acked == 0 {
		t.Fatalf("%d acknowledgements for a failed put of %d shards; want some", acked, n)
	}
	refuse.Store(false)

	before := b.Stats().ShardPuts
	sentBefore := m.sent.Load()
	var notes [][]byte
	finished, saved, err := b.ResumePuts(ctx, func(got erasure.StripeID, note []byte) error {
		if got != id {
			t.Errorf("done for %v, want %v", got, id)
		}
		notes = append(notes, note)
		return nil
	})
	if err != nil || finished != 1 || len(notes) != 1 || string(notes[0]) != "note" {
		t.Fatalf("ResumePuts: finished %d, notes %q, err %v", finished, notes, err)
	}
	shardSize := int64(len(blob)+erasure.DefaultParams.K-1) / int64(erasure.DefaultParams.K)
	if saved != int64(acked)*shardSize {
		t.Errorf("saved %d bytes, want %d acknowledged shards of %d", saved, acked, shardSize)
	}
	if got := b.Stats().ShardPuts - before; got != int64(n-acked) {
		t.Errorf("the resume sent %d shards, want the %d not acknowledged (%d were)", got, n-acked, acked)
	}
	if sent := m.sent.Load() - sentBefore; sent > int64(n-acked)*shardSize+int64(n-acked)*64<<10 {
		t.Errorf("the resume wrote %d bytes for %d shards of %d", sent, n-acked, shardSize)
	}
	if f := journalFiles(t, dir); len(f) != 0 {
		t.Errorf("journal after the resume: %v", f)
	}
	for i, hs := range m.holdersOf(ctx, id, n) {
		if len(hs) == 0 {
			t.Errorf("shard %d has no holder", i)
		}
	}
	got, err := b.Get(ctx, id)
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("Get after the resume: %v", err)
	}
	if f, _, err := b.ResumePuts(ctx, func(erasure.StripeID, []byte) error { return nil }); f != 0 || err != nil {
		t.Errorf("a second ResumePuts finished %d (%v)", f, err)
	}
}

// The caller failed to record the stripe (done's error): the entry stays,
// and the resume sends nothing, only records it.
func TestJournalKeepsUnrecordedPut(t *testing.T) {
	ctx, dir, b := journalMesh(t)
	blob := randBlob(7, 3<<20)
	boom := errors.New("kv down")
	id, err := b.PutJournaled(ctx, blob, secrets(t, writeKeys(t)), []byte{1, 2, 3}, func(erasure.StripeID) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("PutJournaled: %v, want done's error", err)
	}
	if got := ackLines(t, dir, id); got != erasure.DefaultParams.Total() {
		t.Fatalf("%d acknowledgements, want all", got)
	}
	before := b.Stats().ShardPuts
	var note []byte
	finished, saved, err := b.ResumePuts(ctx, func(_ erasure.StripeID, n []byte) error { note = n; return nil })
	if err != nil || finished != 1 || !bytes.Equal(note, []byte{1, 2, 3}) {
		t.Fatalf("ResumePuts: %d, %v, note %v", finished, err, note)
	}
	if got := b.Stats().ShardPuts - before; got != 0 {
		t.Errorf("the resume sent %d shards of a stripe every holder had acknowledged", got)
	}
	if want := int64(erasure.DefaultParams.Total()) * int64(len(blob)/erasure.DefaultParams.K); saved != want {
		t.Errorf("saved %d, want %d", saved, want)
	}
	if f := journalFiles(t, dir); len(f) != 0 {
		t.Errorf("journal after the resume: %v", f)
	}
}

// A torn journal file (a power cut) is dropped, not sent.
func TestJournalDropsTornEntry(t *testing.T) {
	ctx, dir, b := journalMesh(t)
	note := []byte("the pack's index entries")
	id, err := b.PutJournaled(ctx, randBlob(8, 1<<20), secrets(t, writeKeys(t)), note, func(erasure.StripeID) error { return errors.New("no") })
	if err == nil {
		t.Fatal("want done's error")
	}
	p := filepath.Join(dir, id.String()+journalPut)
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	stale := bytes.Clone(raw) // older bytes where the note is (a spare's)
	stale[bytes.Index(raw, note)+4] ^= 1
	for _, torn := range [][]byte{raw[:len(raw)-100], append(bytes.Clone(raw[:len(raw)-1]), raw[len(raw)-1]^1), raw[:10], stale} {
		if err := os.WriteFile(p, torn, 0o600); err != nil {
			t.Fatal(err)
		}
		before := b.Stats().ShardPuts
		finished, _, err := b.ResumePuts(ctx, func(erasure.StripeID, []byte) error {
			t.Error("done called for a torn entry")
			return nil
		})
		if finished != 0 || err != nil || b.Stats().ShardPuts != before {
			t.Errorf("torn entry: finished %d, err %v, %d shards sent", finished, err, b.Stats().ShardPuts-before)
		}
		if f := journalFiles(t, dir); len(f) != 0 {
			t.Errorf("journal after dropping a torn entry: %v", f)
		}
	}
}

// A finished entry's file becomes a spare and the next entry is written
// over it (the same file, cut to the new length); the folder keeps at most
// journalSpares spares, and an entry written over a longer spare resumes.
func TestJournalReusesSpares(t *testing.T) {
	ctx, dir, b := journalMesh(t)
	ok := func(erasure.StripeID) error { return nil }
	if _, err := b.PutJournaled(ctx, randBlob(9, 3<<20), secrets(t, writeKeys(t)), nil, ok); err != nil {
		t.Fatal(err)
	}
	spares, _ := filepath.Glob(filepath.Join(dir, journalSpare+"*"))
	if len(spares) != 1 || len(journalFiles(t, dir)) != 0 {
		t.Fatalf("after one put: spares %v, entries %v", spares, journalFiles(t, dir))
	}
	old, err := os.Stat(spares[0])
	if err != nil {
		t.Fatal(err)
	}
	blob := randBlob(10, 1<<20+5)
	id, err := b.PutJournaled(ctx, blob, secrets(t, writeKeys(t)), []byte{4}, func(erasure.StripeID) error { return errors.New("no") })
	if err == nil {
		t.Fatal("want done's error")
	}
	entry, err := os.Stat(filepath.Join(dir, id.String()+journalPut))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(old, entry) || entry.Size() >= old.Size() {
		t.Errorf("the entry (%d bytes) was not written over the spare (%d bytes)", entry.Size(), old.Size())
	}
	finished, _, err := b.ResumePuts(ctx, func(erasure.StripeID, []byte) error { return nil })
	if err != nil || finished != 1 {
		t.Fatalf("ResumePuts over a longer spare: %d, %v", finished, err)
	}
	if got, err := b.Get(ctx, id); err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("Get after the resume: %v", err)
	}
	// Puts at once, more than there are spares.
	g, gctx := errgroup.WithContext(ctx)
	for i := range 2 * journalSpares {
		s := secrets(t, writeKeys(t))
		g.Go(func() error {
			_, err := b.PutJournaled(gctx, randBlob(uint64(20+i), 256<<10+i), s, nil, ok)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	spares, _ = filepath.Glob(filepath.Join(dir, journalSpare+"*"))
	if len(spares) > journalSpares || len(journalFiles(t, dir)) != 0 {
		t.Errorf("after the puts: spares %v, entries %v", spares, journalFiles(t, dir))
	}
	DropSpares(dir)
	if spares, _ = filepath.Glob(filepath.Join(dir, journalSpare+"*")); len(spares) != 0 {
		t.Errorf("after DropSpares: %v", spares)
	}
}
