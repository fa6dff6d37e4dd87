package backup

import (
	"context"
	"fmt"
)

// buildTrees turns directories (in post-order) into tree chunks, once their
// files are read, and packs the new ones into metadata packs. Trees that are
// already in the index (an unchanged directory) are not stored again.
func (r *run) buildTrees(ctx context.Context) error {
	enc := newEncoder(r.w.opts.level())
	defer enc.Close()
	var mb *packBuilder
	h := newIDHasher(r.idKey)
	for d := range r.dirQ {
		nodes := make([]node, 0, len(d.entries))
		for i := range d.entries {
			pn := &d.entries[i]
			n := pn.n
			switch {
			case pn.file != nil:
				select {
				case <-pn.file.done:
				case <-ctx.Done():
					return ctx.Err()
				}
				if pn.file.err != nil {
					continue // skipped
				}
				n.Size, n.Chunks = uint64(pn.file.size), pn.file.chunks
			case pn.dir != nil:
				n.Tree = pn.dir.tree[:]
			}
			nodes = append(nodes, n)
		}
		b, err := encodeTree(nodes)
		if err != nil {
			return err
		}
		if len(b) > maxTreeSize {
			return fmt.Errorf("backup: directory %s has too many entries (%d bytes of tree, at most %d)", d.path, len(b), maxTreeSize)
		}
		d.tree = h.sum(b)
		d.entries = nil
		r.root = d.tree // the virtual root comes last
		if !r.claim(d.tree) {
			continue
		}
		body := b
		if r.w.opts.Compression != CompressOff {
			if c, ok := compress(enc, b, make([]byte, 0, len(b))); ok {
				body = c
			}
		}
		if mb != nil && !mb.fits(len(body), r.w.opts.PackSize) {
			if err := r.sendPack(ctx, mb); err != nil {
				return err
			}
			mb = nil
		}
		if mb == nil {
			if mb, err = r.newMetaPack(); err != nil {
				return err
			}
		}
		mb.add(d.tree, ChunkTree, body, len(b))
	}
	r.meta = mb
	return nil
}

// newMetaPack starts a pack for trees or index chunks, usually small.
func (r *run) newMetaPack() (*packBuilder, error) {
	return newSealedPack(make([]byte, 0, 64<<10), writeRecipient(r.w.keys))
}
