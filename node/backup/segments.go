package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"respaldo/erasure"
)

// The write side's index cache lives in the KV as segments, mirroring what
// is in the mesh. A segment is a set of index packs (packs holding index
// chunks, and the trees written at the end of the run that made it); its
// entries are the index chunks' entries plus the entries of the index packs'
// own headers. The KV keeps every entry of a segment explicitly:
//
//	backup/index/manifest            manifestRecord: the segments, in order
//	backup/index/seg/<n>/<part>      indexRecord: the entries of segment n
//	backup/index/pending/<pack>      indexRecord: a pack put by a run that
//	                                 has not finished (resume)
//
// A run that adds entries makes one new segment; while the previous segment
// holds no more than twice the entries of the new one, it is merged in (its
// entries rewritten in the new segment's index chunks, index-chunk entries
// dropped), so a member has O(log n) segments and each entry is rewritten
// O(log n) times. A snapshot lists the index packs of every segment.
const (
	kvManifest      = "backup/index/manifest"
	kvSegPrefix     = "backup/index/seg/"
	kvPendingPrefix = "backup/index/pending/"
	manifestVersion = 1
)

type manifestRecord struct {
	V        uint      `cbor:"1,keyasint"`
	Next     uint64    `cbor:"2,keyasint"`
	Segments []segment `cbor:"3,keyasint"`
}

type segment struct {
	_       struct{} `cbor:",toarray"`
	N       uint64
	Entries uint64
	Parts   uint32
	Packs   []erasure.StripeID
}

func segKeyPrefix(n uint64) string { return fmt.Sprintf("%s%016x/", kvSegPrefix, n) }

func segKey(n uint64, part int) []byte {
	return fmt.Appendf(nil, "%s%06d", segKeyPrefix(n), part)
}

func pendingKey(pack erasure.StripeID) []byte { return []byte(kvPendingPrefix + pack.String()) }

// indexPacks lists the index packs of all segments, oldest first.
func (m *manifestRecord) indexPacks() []erasure.StripeID {
	var out []erasure.StripeID
	for _, s := range m.Segments {
		out = append(out, s.Packs...)
	}
	return out
}

// planMerge returns how many of segs to keep when a segment of n entries is
// added: the newest ones are merged while each holds at most twice what the
// merged segment already holds.
func planMerge(segs []segment, n uint64) int {
	k := len(segs)
	for k > 0 && segs[k-1].Entries <= 2*n {
		n += segs[k-1].Entries
		k--
	}
	return k
}

// cache is the write side's index cache as loaded from the KV.
type cache struct {
	man     manifestRecord
	pending []packRef                 // entries of packs put by unfinished runs
	deleted map[erasure.StripeID]bool // packs a prune deleted (MarkDeleted)
	pkeys   map[string]bool           // their KV keys
	idx     *index                    // every entry: segments and pending
}

// loadCache reads the index cache from kv; store, if not nil, is asked
// whether the packs of pending records still exist.
func loadCache(ctx context.Context, kv KV, store BlobStore) (*cache, error) {
	c := &cache{man: manifestRecord{V: manifestVersion}, pkeys: make(map[string]bool), idx: newIndex()}
	b, err := kv.Get(ctx, []byte(kvManifest))
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("backup: index cache: %w", err)
	default:
		if err := unmarshal("index manifest", b, &c.man); err != nil {
			return nil, err
		}
		if c.man.V != manifestVersion {
			return nil, corruptf("index manifest: version %d", c.man.V)
		}
	}
	if c.deleted, err = DeletedPacks(ctx, kv); err != nil {
		return nil, fmt.Errorf("backup: index cache: %w", err)
	}
	for _, s := range c.man.Segments {
		if err := forSegment(ctx, kv, s, func(ps []indexPack) {
			for _, p := range ps {
				if !c.deleted[p.Pack] {
					c.idx.add(p.Pack, p.Entries)
				}
			}
		}); err != nil {
			return nil, err
		}
	}
	type rec struct {
		key string
		ps  []indexPack
	}
	var recs []rec
	err = kv.Iterate(ctx, []byte(kvPendingPrefix), func(k, v []byte) error {
		ps, err := decodeIndex(v)
		if err != nil {
			return fmt.Errorf("pending %s: %w", k, err)
		}
		recs = append(recs, rec{string(k), ps})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backup: index cache: %w", err)
	}
	for _, r := range recs {
		c.pkeys[r.key] = true // deleted once folded into a segment
		for _, p := range r.ps {
			// A pack put by a failed run is used only if the store still
			// has it.
			if c.deleted[p.Pack] {
				continue
			}
			if store != nil {
				if ok, err := store.Has(ctx, p.Pack); err != nil {
					return nil, fmt.Errorf("backup: index cache: %w", err)
				} else if !ok {
					continue
				}
			}
			c.idx.add(p.Pack, p.Entries)
			c.pending = append(c.pending, flatten([]indexPack{p})...)
		}
	}
	return c, nil
}

// forSegment calls fn with each part of a segment.
func forSegment(ctx context.Context, kv KV, s segment, fn func([]indexPack)) error {
	for part := range int(s.Parts) {
		b, err := kv.Get(ctx, segKey(s.N, part))
		if err != nil {
			return fmt.Errorf("backup: index cache segment %d part %d: %w", s.N, part, err)
		}
		ps, err := decodeIndex(b)
		if err != nil {
			return fmt.Errorf("backup: index cache segment %d part %d: %w", s.N, part, err)
		}
		fn(ps)
	}
	return nil
}

// putPending records a pack that has been put, so that a later run does
// not store its chunks again even if this run fails.
func putPending(ctx context.Context, kv KV, pack erasure.StripeID, es []packEntry) error {
	b, err := marshal(indexRecord{V: indexVersion, Packs: []indexPack{{Pack: pack, Entries: es}}})
	if err != nil {
		return err
	}
	return kv.Put(ctx, pendingKey(pack), b)
}

// writeSegment stores a new segment's entries and returns it (not yet in
// the manifest).
func writeSegment(ctx context.Context, kv KV, n uint64, es []packRef, packs []erasure.StripeID) (segment, error) {
	// Parts left over by a run that failed before its manifest was written.
	var stale [][]byte
	if err := kv.Iterate(ctx, []byte(segKeyPrefix(n)), func(k, _ []byte) error {
		stale = append(stale, bytes.Clone(k))
		return nil
	}); err != nil {
		return segment{}, err
	}
	for _, k := range stale {
		if err := kv.Delete(ctx, k); err != nil {
			return segment{}, err
		}
	}
	parts, err := encodeIndex(groupByPack(es))
	if err != nil {
		return segment{}, err
	}
	for i, p := range parts {
		if err := kv.Put(ctx, segKey(n, i), p); err != nil {
			return segment{}, err
		}
	}
	return segment{N: n, Entries: uint64(len(es)), Parts: uint32(len(parts)), Packs: packs}, nil
}

func putManifest(ctx context.Context, kv KV, m *manifestRecord) error {
	b, err := marshal(m)
	if err != nil {
		return err
	}
	return kv.Put(ctx, []byte(kvManifest), b)
}

func deleteSegment(ctx context.Context, kv KV, s segment) error {
	for part := range int(s.Parts) {
		if err := kv.Delete(ctx, segKey(s.N, part)); err != nil {
			return err
		}
	}
	return nil
}
