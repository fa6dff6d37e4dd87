package backup

import (
	"context"
	"errors"
	"fmt"

	"respaldo/crypto"
	"respaldo/erasure"
)

// Reachable returns the stripes the snapshots snaps need to be restored:
// their snapshot blobs, their index packs, and every pack that holds a
// chunk of their trees (the trees themselves and the files' contents). It
// reads the snapshots, their indexes and all their trees.
func (r *Reader) Reachable(ctx context.Context, snaps []erasure.StripeID) (map[erasure.StripeID]bool, error) {
	out := make(map[erasure.StripeID]bool)
	trees := make(map[crypto.ChunkID]bool)
	for _, id := range snaps {
		s, err := r.open(ctx, id)
		if err != nil {
			return nil, err
		}
		out[id] = true
		for _, p := range s.IndexPacks {
			out[p] = true
		}
		if err := r.markTree(ctx, s.Root, trees, out); err != nil {
			return nil, fmt.Errorf("backup: snapshot %v: %w", id, err)
		}
	}
	return out, nil
}

func (r *Reader) markTree(ctx context.Context, id crypto.ChunkID, seen map[crypto.ChunkID]bool, out map[erasure.StripeID]bool) error {
	if seen[id] {
		return nil
	}
	seen[id] = true
	if err := r.markChunk(id, out); err != nil {
		return err
	}
	nodes, err := r.tree(ctx, id)
	if err != nil {
		return err
	}
	for i := range nodes {
		n := &nodes[i]
		switch n.Type {
		case NodeFile:
			for _, c := range n.chunkIDs() {
				if err := r.markChunk(c, out); err != nil {
					return err
				}
			}
		case NodeDir:
			if err := r.markTree(ctx, n.subtree(), seen, out); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

func (r *Reader) markChunk(id crypto.ChunkID, out map[erasure.StripeID]bool) error {
	pack, _, ok := r.idx.lookup(id)
	if !ok {
		return fmt.Errorf("%w: chunk %v is not in the index", ErrCorrupt, id)
	}
	out[pack] = true
	return nil
}

// kvDeletedPrefix marks the packs a prune deleted: the write side must not
// deduplicate against their chunks any more (loadCache leaves their entries
// out, and index merges drop them).
const kvDeletedPrefix = "backup/deleted/"

// MarkDeleted records in kv that the packs were deleted from the mesh, so
// that the Writer of kv no longer deduplicates against them. Call it before
// deleting a pack's shards: a pack marked but not deleted costs only a chunk
// stored twice.
func MarkDeleted(ctx context.Context, kv KV, packs []erasure.StripeID) error {
	for _, p := range packs {
		if err := kv.Put(ctx, []byte(kvDeletedPrefix+p.String()), []byte{1}); err != nil {
			return fmt.Errorf("backup: mark deleted: %w", err)
		}
	}
	return nil
}

// PendingPacks lists the packs a backup put and has not yet committed to an
// index segment (an unfinished run, to be resumed): a prune must keep them.
func PendingPacks(ctx context.Context, kv KV) ([]erasure.StripeID, error) {
	var out []erasure.StripeID
	err := kv.Iterate(ctx, []byte(kvPendingPrefix), func(k, _ []byte) error {
		id, err := erasure.ParseStripeID(string(k[len(kvPendingPrefix):]))
		if err != nil {
			return fmt.Errorf("%w: pending key %q", ErrCorrupt, k)
		}
		out = append(out, id)
		return nil
	})
	return out, err
}

// IndexPacks lists the index packs of the write side's index cache, which
// the next snapshot lists (every segment's): a prune must keep them. Each
// is in the latest snapshot already, except after a backup cut off between
// its index commit and its head.
func IndexPacks(ctx context.Context, kv KV) ([]erasure.StripeID, error) {
	b, err := kv.Get(ctx, []byte(kvManifest))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var man manifestRecord
	if err := unmarshal("index manifest", b, &man); err != nil {
		return nil, err
	}
	return man.indexPacks(), nil
}

// DeletedPacks reads the packs MarkDeleted recorded: a prune began
// deleting them (it may have been cut off half-way; the next prune
// finishes). The writer does not deduplicate against them, and check does
// not count them.
func DeletedPacks(ctx context.Context, kv KV) (map[erasure.StripeID]bool, error) {
	out := make(map[erasure.StripeID]bool)
	err := kv.Iterate(ctx, []byte(kvDeletedPrefix), func(k, _ []byte) error {
		id, err := erasure.ParseStripeID(string(k[len(kvDeletedPrefix):]))
		if err == nil {
			out[id] = true
		}
		return nil
	})
	return out, err
}
