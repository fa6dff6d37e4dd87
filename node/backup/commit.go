package backup

import (
	"context"
	"fmt"

	"respaldo/crypto"
	"respaldo/erasure"
)

// commitIndex writes this run's index segment, once every data and tree
// pack is put: the entries of the packs put by this run (and by failed runs
// before it), merged with older segments as planMerge says, go into index
// chunks, packed with the trees still unsealed into the segment's index
// packs; then the KV's cache is updated (the manifest is the commit point)
// and the index packs of every segment are returned for the snapshot.
// Nothing is written when nothing is new.
func (r *run) commitIndex(ctx context.Context) ([]erasure.StripeID, error) {
	c, kv := r.c, r.w.kv
	mb := r.meta
	fresh := append(append([]packRef(nil), c.pending...), r.sealed...)
	if len(fresh) == 0 && mb == nil {
		return c.man.indexPacks(), nil
	}
	var err error
	if mb == nil {
		if mb, err = r.newMetaPack(); err != nil {
			return nil, err
		}
	}
	keep := planMerge(c.man.Segments, uint64(len(fresh)+len(mb.entries)))
	merged := c.man.Segments[keep:]
	explicit := fresh
	for _, s := range merged {
		if err := forSegment(ctx, kv, s, func(ps []indexPack) {
			for _, p := range ps {
				if !c.deleted[p.Pack] { // a pruned pack's chunks are gone
					explicit = append(explicit, flatten([]indexPack{p})...)
				}
			}
		}); err != nil {
			return nil, err
		}
	}
	explicit = dedupRefs(withoutType(explicit, ChunkIndex))
	records, err := encodeIndex(groupByPack(explicit))
	if err != nil {
		return nil, err
	}
	enc := newEncoder(r.w.opts.level())
	defer enc.Close()
	var segPacks []erasure.StripeID
	all := explicit
	h := newIDHasher(r.idKey)
	flush := func() error {
		blob, es, _, err := mb.finish()
		if err != nil {
			return err
		}
		id, err := r.putPack(ctx, sealedPack{blob: blob, entries: es}, false)
		if err != nil {
			return err
		}
		segPacks = append(segPacks, id)
		for _, e := range es {
			all = append(all, packRef{id, e})
		}
		mb, err = r.newMetaPack()
		return err
	}
	for _, rec := range records {
		body := rec
		if c, ok := compress(enc, rec, make([]byte, 0, len(rec))); ok {
			body = c
		}
		if !mb.fits(len(body), r.w.opts.PackSize) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		mb.add(h.sum(rec), ChunkIndex, body, len(rec))
	}
	if !mb.empty() {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	seg, err := writeSegment(ctx, kv, c.man.Next, all, segPacks)
	if err != nil {
		return nil, fmt.Errorf("backup: index cache: %w", err)
	}
	man := manifestRecord{V: manifestVersion, Next: c.man.Next + 1, Segments: append(c.man.Segments[:keep:keep], seg)}
	if err := putManifest(ctx, kv, &man); err != nil {
		return nil, fmt.Errorf("backup: index cache: %w", err)
	}
	// The manifest no longer names these; failing to delete them only
	// leaves garbage (and pending entries counted twice next time).
	for _, s := range merged {
		if err := deleteSegment(ctx, kv, s); err != nil {
			return nil, err
		}
	}
	for k := range c.pkeys {
		if err := kv.Delete(ctx, []byte(k)); err != nil {
			return nil, err
		}
	}
	for _, id := range r.putPacks {
		if err := kv.Delete(ctx, pendingKey(id)); err != nil {
			return nil, err
		}
	}
	return man.indexPacks(), nil
}

// dedupRefs keeps the last entry for each chunk ID, in first-seen order.
func dedupRefs(es []packRef) []packRef {
	last := make(map[crypto.ChunkID]int, len(es))
	for i, e := range es {
		last[e.e.ID] = i
	}
	out := es[:0:0]
	for i, e := range es {
		if last[e.e.ID] == i {
			out = append(out, e)
		}
	}
	return out
}
