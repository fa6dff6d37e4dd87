package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/crypto"
	"respaldo/dht"
	"respaldo/erasure"
	"respaldo/node/api"
	"respaldo/node/backup"
	"respaldo/node/meshblobs"
	"respaldo/node/shard"
	"respaldo/node/store"
)

// respaldo forget [--keep-*] [--prune] (docs/prune.md).
//
// forget turns the snapshots the policy does not keep into tombstones in
// this device's catalog and publishes the new head. With the recovery key
// the policy sees every device's snapshots (their catalogs are merged in
// first), without it this node's own.
//
// prune (it needs the recovery key: only the member's keys yield the
// per-stripe deletion secrets) is two-phase. It computes what the member's
// kept snapshots need (every device's, from the heads in the mesh), and goes
// over the stripes this node put (its holder hints): one that nothing needs
// is marked with the time; one marked at least prune_grace ago and still
// needed by nothing is deleted from its holders with the stripe's deletion
// secret; a marked one that is needed again is unmarked. The grace is
// longer than any backup, so a backup that deduplicated against a pack and
// has not published its snapshot yet still finds the pack.

// DefaultPruneGrace is how long a prune waits between marking a stripe
// and deleting it.
const DefaultPruneGrace = 24 * time.Hour

const prunePrefix = "prune/marked/" // + stripe ID hex → unix nanoseconds of the mark

func (n *Node) pruneGrace() time.Duration {
	if n.cfg.PruneGrace > 0 {
		return n.cfg.PruneGrace
	}
	return DefaultPruneGrace
}

// Forget answers respaldo forget.
func (b *backend) Forget(ctx context.Context, req api.ForgetRequest) (api.ForgetResult, error) {
	n := b.n
	pol := backup.Policy{Last: req.KeepLast, Daily: req.KeepDaily, Weekly: req.KeepWeekly}
	if _, _, err := pol.Apply(nil); err != nil {
		return api.ForgetResult{}, fmt.Errorf("%w: %w", api.ErrBadRequest, err)
	}
	if req.Prune && req.RecoveryKey.IsZero() {
		return api.ForgetResult{}, fmt.Errorf("%w: prune deletes data, which only the recovery key allows", api.ErrNeedsRecoveryKey)
	}
	if !n.member.busy.CompareAndSwap(false, true) {
		return api.ForgetResult{}, fmt.Errorf("%w: a backup or prune is running on this node; try again when it is done", api.ErrConflict)
	}
	defer n.member.busy.Store(false)
	wk, err := n.writeKeys()
	if err != nil {
		return api.ForgetResult{}, err
	}
	blobs, err := n.blobs(nil)
	if err != nil {
		return api.ForgetResult{}, err
	}
	w, err := backup.NewWriter(blobs, n.kv(), wk, backup.Options{Now: n.cfg.Now})
	if err != nil {
		return api.ForgetResult{}, err
	}
	var r *backup.Reader
	var mk *crypto.MemberKeys
	if !req.RecoveryKey.IsZero() {
		if r, mk, err = n.reader(ctx, req.RecoveryKey); err != nil {
			return api.ForgetResult{}, err
		}
		all, err := r.Catalogs(ctx)
		if err != nil {
			return api.ForgetResult{}, readErr(err)
		}
		if err := w.MergeCatalog(ctx, all); err != nil {
			return api.ForgetResult{}, err
		}
	}
	es, err := w.Snapshots(ctx)
	if err != nil {
		return api.ForgetResult{}, err
	}
	keep, forget, err := pol.Apply(es)
	if err != nil {
		return api.ForgetResult{}, fmt.Errorf("%w: %w", api.ErrBadRequest, err)
	}
	res := api.ForgetResult{Removed: []string{}, Kept: []string{}}
	for _, e := range keep {
		res.Kept = append(res.Kept, e.ID.String())
	}
	if len(forget) > 0 {
		ids := make([]erasure.StripeID, len(forget))
		for i, e := range forget {
			ids[i] = e.ID
			res.Removed = append(res.Removed, e.ID.String())
		}
		head, err := w.Forget(ctx, ids)
		if err != nil {
			return api.ForgetResult{}, err
		}
		if _, err := n.publishHead(ctx, wk, head); err != nil {
			n.log.Warn("head not yet in the DHT; it will be put again", "err", err)
		}
	}
	if req.Prune {
		// The prune keeps what this node's heads need; a head of this
		// device that never reached the DHT (a node killed in between,
		// docs/crash.md) goes there first, or the older head there would
		// point at what the prune deletes.
		if err := n.headStored(ctx, w, wk); err != nil {
			return api.ForgetResult{}, fmt.Errorf("prune: %w", err)
		}
		// The reader's heads predate the forget: the new head is in the
		// node's records now, which the reader reads.
		rep, err := n.prune(ctx, mk, r, keep)
		if err != nil {
			return api.ForgetResult{}, fmt.Errorf("prune: %w", err)
		}
		n.log.Info("prune done", "marked", rep.Marked, "deleted", rep.Deleted, "unmarked", rep.Unmarked,
			"waiting", rep.Waiting, "failed", rep.Failed)
	}
	return res, nil
}

// headStored publishes this device's head unless this node's DHT records
// hold it (or a later one) already.
func (n *Node) headStored(ctx context.Context, w *backup.Writer, wk *crypto.WriteKeys) error {
	h, err := w.Head(ctx)
	if errors.Is(err, backup.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	recs, err := n.dht.StoredHeads(ctx)
	if err != nil {
		return err
	}
	key := dht.KeyFor(wk.HeadVerifier())
	for _, rec := range recs {
		if rec.Key() == key && rec.Seq >= h.Seq {
			return nil
		}
	}
	if _, err := n.publishHead(ctx, wk, h); err != nil {
		return fmt.Errorf("%w: this device's head %d is not in the mesh yet, and a prune now could delete what the older one there needs; nothing was pruned: %v", api.ErrUnavailable, h.Seq, err)
	}
	return nil
}

// PruneReport counts what one prune did.
type PruneReport struct {
	Marked, Deleted, Unmarked, Waiting, Failed int
}

// prune runs one round of the two-phase prune over the stripes this node
// put. kept are the snapshots this device's writer keeps: besides those of
// the heads' catalogs, they may hold one of a backup cut off after its
// catalog entry was recorded and before its head moved, which the next
// head will list.
func (n *Node) prune(ctx context.Context, mk *crypto.MemberKeys, r *backup.Reader, kept []backup.CatalogEntry) (PruneReport, error) {
	var rep PruneReport
	live, err := r.Snapshots(ctx)
	if err != nil {
		return rep, readErr(err)
	}
	ids := make([]erasure.StripeID, 0, len(live)+len(kept))
	seen := map[erasure.StripeID]bool{}
	for _, e := range append(live, kept...) {
		if !seen[e.ID] {
			seen[e.ID] = true
			ids = append(ids, e.ID)
		}
	}
	needed, err := r.Reachable(ctx, ids)
	if err != nil {
		return rep, readErr(err)
	}
	heads, err := r.Heads(ctx)
	if err != nil {
		return rep, err
	}
	for _, h := range heads {
		needed[h.Catalog] = true // the catalogs the heads point at
	}
	kv := n.kv()
	pending, err := backup.PendingPacks(ctx, kv)
	if err != nil {
		return rep, err
	}
	for _, p := range pending {
		needed[p] = true // an unfinished backup resumes with them
	}
	journaled, err := meshblobs.Journaled(n.journalDir())
	if err != nil {
		return rep, err
	}
	for _, p := range journaled {
		needed[p] = true // the next backup finishes their puts
	}
	indexPacks, err := backup.IndexPacks(ctx, kv)
	if err != nil {
		return rep, err
	}
	for _, p := range indexPacks {
		needed[p] = true // the next snapshot lists them
	}
	recs := n.store.Records()
	type stripe struct {
		id erasure.StripeID
		d  *erasure.Descriptor
		h  []peer.ID
	}
	var unneeded []stripe
	err = recs.Iterate(ctx, []byte(meshblobs.HintPrefix), func(k, v []byte) error {
		id, d, hs, err := meshblobs.DecodeHint(k, v)
		if err != nil {
			return nil
		}
		if !needed[id] {
			unneeded = append(unneeded, stripe{id, d, hs})
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	// Unmark what is needed again.
	var unmark [][]byte
	err = recs.Iterate(ctx, []byte(prunePrefix), func(k, _ []byte) error {
		id, err := erasure.ParseStripeID(string(k[len(prunePrefix):]))
		if err == nil && needed[id] {
			unmark = append(unmark, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	for _, k := range unmark {
		if err := recs.Delete(ctx, k); err != nil {
			return rep, err
		}
		rep.Unmarked++
	}
	now, grace := n.now(), n.pruneGrace()
	for _, s := range unneeded {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		key := []byte(prunePrefix + s.id.String())
		v, err := recs.Get(ctx, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], uint64(now.UnixNano()))
			if err := recs.Put(ctx, key, b[:]); err != nil {
				return rep, err
			}
			rep.Marked++
			crashHit(crashPruneMark) // test-only crash point (crashpoint.go)
			continue
		case err != nil:
			return rep, err
		case len(v) != 8:
			return rep, fmt.Errorf("%w: prune mark of %v", store.ErrCorrupt, s.id)
		}
		if now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(v)))) < grace {
			rep.Waiting++
			continue
		}
		if err := n.deleteStripe(ctx, mk, s.id, s.d, s.h); err != nil {
			n.log.Info("prune: stripe not deleted everywhere; the next prune tries again", "stripe", s.id, "err", err)
			rep.Failed++
			continue
		}
		if err := recs.Delete(ctx, key); err != nil {
			return rep, err
		}
		if err := recs.Delete(ctx, []byte(meshblobs.HintPrefix+s.id.String())); err != nil {
			return rep, err
		}
		rep.Deleted++
	}
	return rep, nil
}

// deleteStripe deletes every shard of a stripe from every peer found
// holding one, proving the stripe's deletion secret; holders keep a
// deletion record, so repair or a returning node never brings it back. The
// write side stops deduplicating against it first.
func (n *Node) deleteStripe(ctx context.Context, mk *crypto.MemberKeys, id erasure.StripeID, d *erasure.Descriptor, hinted []peer.ID) error {
	secret, err := mk.DeleteSecret(crypto.StripeNonce(d.Secrets.Nonce))
	if err != nil {
		return err
	}
	if err := backup.MarkDeleted(ctx, n.kv(), []erasure.StripeID{id}); err != nil {
		return err
	}
	c := n.checkStripe(ctx, id, d, hinted, nil)
	open := n.openShard(meshblobs.HostStreams(n.host))
	done := map[peer.ID]bool{}
	var errs []error
	for i, ps := range c.found {
		for _, p := range ps {
			if done[p] {
				continue
			}
			done[p] = true
			if err := n.deleteAt(ctx, open, p, d, i, secret); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", shortID(p), err))
			}
		}
	}
	// A shard not found is deleted already if the holder the hint names for
	// it keeps the stripe's deletion record (a prune cut off half-way, or
	// one that found a holder away). Holders that are away keep their
	// shards until a later prune finds them: the stripe stays marked.
	missing := 0
	for i := range d.Shards {
		if len(c.found[i]) == 0 && (i >= len(hinted) || !n.deletedAt(ctx, open, hinted[i], id)) {
			missing++
		}
	}
	if missing > 0 {
		errs = append(errs, fmt.Errorf("%d of %d shards neither found nor deleted", missing, len(d.Shards)))
	}
	return errors.Join(errs...)
}

// deletedAt reports whether p answers that the owner deleted stripe id
// there (it keeps a deletion record).
func (n *Node) deletedAt(ctx context.Context, open meshblobs.OpenFunc, p peer.ID, id erasure.StripeID) bool {
	if p == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, _, err := meshblobs.LocateVia(open)(ctx, p, id)
	return errors.Is(err, shard.ErrDeleted)
}

func (n *Node) deleteAt(ctx context.Context, open meshblobs.OpenFunc, p peer.ID, d *erasure.Descriptor, i int, secret crypto.DeleteSecret) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := open(ctx, p)
	if err != nil {
		return err
	}
	if err := shard.Delete(ctx, s, n.self.String(), p.String(), d, i, secret, n.now()); err != nil {
		_ = s.Reset()
		return err
	}
	crashHit(crashPruneDelete) // test-only crash point (crashpoint.go)
	return s.Close()
}
