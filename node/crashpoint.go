package node

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"respaldo/erasure"
	"respaldo/node/backup"
	"respaldo/node/meshblobs"
)

// Crash points: a test-only knob for scripts/test-crash.sh and
// scripts/test-crash-repair.sh (docs/crash.md).
//
//	RESPALDO_CRASH_AT=POINT:N respaldo node
//
// The daemon reads the variable once, when the process starts, and kills
// its own process with SIGKILL (no deferred call, no flush, no goodbye to
// peers; os.Exit(137) where there is no SIGKILL) when POINT is reached
// for the N-th time since then. Unset, every hook is one nil check.
// The points, each a one-line hook in an existing file:
//
//	blob-put        after a backup's N-th blob Put is acknowledged by the
//	                mesh (every shard put), before the writer records it
//	                (member_backend.go, Backup: the writer's BlobStore)
//	kv-put          after the N-th Put of a "backup/" key into the node's
//	                records: pending packs, index segments and manifest,
//	                known catalog, head, deleted packs (member_backend.go, kv)
//	head-publish    before the N-th head is published in the DHT: the head
//	                has moved in the records, the DHT has the old one
//	head-published  after the N-th publishHead returned (heads.go)
//	prune-mark      after a prune's N-th mark record (forget.go, prune)
//	prune-delete    after the N-th shard deleted at a holder (forget.go,
//	                deleteAt)
//	repair-fetched  after the N-th stripe this node leads was fetched (k
//	                shards) and rebuilt, before its first put
//	                (repairloop_lead.go, lead)
//	repair-put      after the N-th rebuilt shard's put was acknowledged by
//	                its new holder, before the next put and before this
//	                node's holder map names it (repairloop_lead.go, lead)
//	repair-drop     after the N-th surplus copy was deleted from this
//	                node's store, before its holder map points at the
//	                keeper (repairloop_lead.go, drop)
//
// Before it kills the process the node writes one line to stderr,
// "crashpoint: POINT #N reached: KEY=VALUE ...; SIGKILL": for the backup
// and prune points what the current backup had put by then (see
// crashState.stats), for the repair points the stripe, index and peer.
const crashEnv = "RESPALDO_CRASH_AT"

const (
	crashBlobPut       = "blob-put"
	crashKVPut         = "kv-put"
	crashHeadPublish   = "head-publish"
	crashHeadPublished = "head-published"
	crashPruneMark     = "prune-mark"
	crashPruneDelete   = "prune-delete"
	crashRepairFetched = "repair-fetched"
	crashRepairPut     = "repair-put"
	crashRepairDrop    = "repair-drop"
)

var crashPoints = []string{crashBlobPut, crashKVPut, crashHeadPublish, crashHeadPublished, crashPruneMark, crashPruneDelete,
	crashRepairFetched, crashRepairPut, crashRepairDrop}

// crash is the armed point of this process, or nil.
var crash = func() *crashState {
	v, ok := os.LookupEnv(crashEnv)
	if !ok || v == "" {
		return nil
	}
	c, err := parseCrashAt(v)
	if err != nil {
		// A test knob that is misspelt must not pass for a run that did
		// not crash.
		fmt.Fprintf(os.Stderr, "respaldo: %s=%q: %v\n", crashEnv, v, err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "respaldo: %s=%s:%d armed (a test-only knob: this process kills itself there)\n", crashEnv, c.point, c.n)
	return c
}()

type crashState struct {
	point string
	n     int64
	hits  atomic.Int64

	// What the current backup put, kept only while armed: the shard bytes
	// of each stripe whose Put returned, and of those the ones the writer
	// recorded as pending (so a resumed run does not put them again):
	// true while the record is there, false once the run's index segment
	// took them.
	mu      sync.Mutex
	blobs   *meshblobs.Blobs
	stripes map[erasure.StripeID]int64
	pending map[erasure.StripeID]bool
}

func parseCrashAt(v string) (*crashState, error) {
	point, count, ok := strings.Cut(v, ":")
	if !ok {
		count = "1"
	}
	n, err := strconv.ParseInt(count, 10, 64)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("want POINT:N with N ≥ 1, got %q", v)
	}
	for _, p := range crashPoints {
		if p == point {
			return &crashState{point: point, n: n, stripes: map[erasure.StripeID]int64{}, pending: map[erasure.StripeID]bool{}}, nil
		}
	}
	return nil, fmt.Errorf("unknown point %q (known: %s)", point, strings.Join(crashPoints, ", "))
}

// crashHit counts one passage through point and kills the process at the
// armed one's N-th.
func crashHit(point string) { crashHitNote(point, nil) }

// crashHitNote is crashHit with what the line says (note's result, called
// only at the kill) in place of the backup's counts: for the repair
// points, the stripe and the shard.
func crashHitNote(point string, note func() string) {
	c := crash
	if c == nil || c.point != point {
		return
	}
	if c.hits.Add(1) != c.n {
		return
	}
	var what string
	if note != nil {
		what = note()
	} else {
		what = c.stats()
	}
	fmt.Fprintf(os.Stderr, "crashpoint: %s #%d reached: %s; SIGKILL\n", point, c.n, what)
	killSelf()
}

// crashAround hits before now and returns the hit of after, for a defer:
//
//	defer crashAround(crashHeadPublish, crashHeadPublished)()
func crashAround(before, after string) func() {
	crashHit(before)
	return func() { crashHit(after) }
}

// stats: what the current backup had put when the process died.
// acked_shard_bytes counts every shard a holder acknowledged (meshblobs'
// Stats, stripes still in flight included); put_* the stripes whose Put
// returned; recorded_* those of them the writer recorded
// (backup/index/pending/), which a resumed backup must not put again;
// pending_* those whose record was still there (not yet in a committed
// index segment), which a prune keeps whatever its grace.
func (c *crashState) stats() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var acked, put, rec, pend int64
	if c.blobs != nil {
		acked = c.blobs.Stats().ShardBytesPut
	}
	nr, np := 0, 0
	for id, b := range c.stripes {
		put += b
		if still, ok := c.pending[id]; ok {
			rec += b
			nr++
			if still {
				pend += b
				np++
			}
		}
	}
	return fmt.Sprintf("acked_shard_bytes=%d put_stripes=%d put_shard_bytes=%d recorded_stripes=%d recorded_shard_bytes=%d pending_stripes=%d pending_shard_bytes=%d",
		acked, len(c.stripes), put, nr, rec, np, pend)
}

// watchedBlobs is the BlobStore a backup's writer gets: meshblobs, with
// its shard counts added to the node's (crashpoint_metrics.go) as Puts
// return, and the blob-put crash point.
type watchedBlobs struct {
	*meshblobs.Blobs
	n        *Node
	k, total int // shards of new stripes, for the shard bytes of a blob

	mu   sync.Mutex
	seen meshblobs.Stats // what is already added to the node's counters
}

// watchBlobs wraps b for one backup.
func (n *Node) watchBlobs(b *meshblobs.Blobs) backup.BlobStore {
	w := &watchedBlobs{Blobs: b, n: n, k: 1, total: 1}
	if p, err := n.ecParams(); err == nil {
		w.k, w.total = p.K, p.Total()
	}
	if c := crash; c != nil {
		c.mu.Lock()
		c.blobs = b
		clear(c.stripes)
		clear(c.pending)
		c.mu.Unlock()
	}
	return w
}

func (w *watchedBlobs) Put(ctx context.Context, blob []byte, s erasure.Secrets) (erasure.StripeID, error) {
	id, err := w.Blobs.Put(ctx, blob, s)
	w.account()
	if err != nil {
		return id, err
	}
	w.noteStripe(id, len(blob))
	crashHit(crashBlobPut)
	return id, nil
}

// PutJournaled is Put through the journal (backup.JournalStore), with the
// same counts; the blob-put crash point comes after every holder's
// acknowledgement and before the writer records the pack, as with Put.
func (w *watchedBlobs) PutJournaled(ctx context.Context, blob []byte, s erasure.Secrets, note []byte, done func(erasure.StripeID) error) (erasure.StripeID, error) {
	id, err := w.Blobs.PutJournaled(ctx, blob, s, note, func(id erasure.StripeID) error {
		w.account()
		w.noteStripe(id, len(blob))
		crashHit(crashBlobPut)
		return done(id)
	})
	w.account()
	return id, err
}

// ResumePuts is the journal's resume, with the same counts.
func (w *watchedBlobs) ResumePuts(ctx context.Context, done func(erasure.StripeID, []byte) error) (int, int64, error) {
	n, saved, err := w.Blobs.ResumePuts(ctx, done)
	w.account()
	return n, saved, err
}

// noteStripe records a put stripe's shard bytes for the crash harness.
func (w *watchedBlobs) noteStripe(id erasure.StripeID, blobLen int) {
	if c := crash; c != nil {
		size := (int64(blobLen) + int64(w.k) - 1) / int64(w.k) // a shard: ceil(Size/K) (erasure)
		c.mu.Lock()
		c.stripes[id] = size * int64(w.total)
		c.mu.Unlock()
	}
}

// account adds what the Blobs counted since the last call to the node's
// counters; once every Put has returned, all of it is added.
func (w *watchedBlobs) account() {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.Blobs.Stats()
	w.n.member.sent.add(now, w.seen)
	w.seen = now
}

// crashKV is the node's records as backups see them: the kv-put crash
// point on keys beginning with "backup/".
type crashKV struct{ backup.KV }

// watchKV wraps kv when a crash point is armed; otherwise it is kv.
func watchKV(kv backup.KV) backup.KV {
	if crash == nil {
		return kv
	}
	return crashKV{kv}
}

const pendingPrefix = "backup/index/pending/" // node/backup/segments.go

func (k crashKV) Put(ctx context.Context, key, val []byte) error {
	if err := k.KV.Put(ctx, key, val); err != nil {
		return err
	}
	notePending(key, true)
	if strings.HasPrefix(string(key), "backup/") {
		crashHit(crashKVPut)
	}
	return nil
}

func (k crashKV) Delete(ctx context.Context, key []byte) error {
	if err := k.KV.Delete(ctx, key); err != nil {
		return err
	}
	notePending(key, false)
	return nil
}

// notePending follows the pending records of the current backup's stripes.
func notePending(key []byte, put bool) {
	s, ok := strings.CutPrefix(string(key), pendingPrefix)
	if !ok {
		return
	}
	id, err := erasure.ParseStripeID(s)
	if err != nil {
		return
	}
	crash.mu.Lock()
	defer crash.mu.Unlock()
	if _, known := crash.pending[id]; put || known {
		crash.pending[id] = put
	}
}
