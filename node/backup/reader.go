package backup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"filippo.io/age"

	"respaldo/crypto"
	"respaldo/erasure"
)

// ErrSnapshotNotFound: no snapshot matches the given name.
var ErrSnapshotNotFound = errors.New("backup: no such snapshot")

// Reader lists and restores snapshots. It needs the member's keys (from the
// recovery key): catalogs, snapshots, trees and packs are encrypted to the
// member's age recipient, which the write side cannot decrypt. Opening a
// blob with another member's keys fails with an error wrapping
// crypto.ErrWrongKey; a damaged blob with one wrapping crypto.ErrTampered.
//
// A Reader is safe for concurrent use. It keeps the index of the snapshots
// it has opened and a few decrypted metadata packs in memory.
type Reader struct {
	store BlobStore
	kv    KV
	ident age.Identity
	idKey crypto.ChunkIDKey

	hashers sync.Pool // of *idHasher

	mu     sync.Mutex
	idx    *index
	loaded map[erasure.StripeID]bool // index packs read into idx
	cache  packCache
}

// NewReader returns a Reader. kv may be nil when heads are given by other
// means (Catalog); Snapshots then lists nothing.
func NewReader(store BlobStore, kv KV, keys *crypto.MemberKeys) *Reader {
	r := &Reader{
		store: store, kv: kv, ident: memberIdentity(keys), idKey: keys.ChunkIDKey(),
		idx: newIndex(), loaded: make(map[erasure.StripeID]bool), cache: packCache{max: 4},
	}
	r.hashers.New = func() any { return newIDHasher(r.idKey) }
	return r
}

// Heads lists the heads kept in the KV, one per device that backed up
// through it.
func (r *Reader) Heads(ctx context.Context) ([]Head, error) {
	if r.kv == nil {
		return nil, nil
	}
	var hs []Head
	err := r.kv.Iterate(ctx, []byte(kvHeadPrefix), func(_, v []byte) error {
		h, err := decodeHead(v)
		if err != nil {
			return err
		}
		hs = append(hs, h)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backup: heads: %w", err)
	}
	return hs, nil
}

// Catalog reads the catalog blob id (what a head points at).
func (r *Reader) Catalog(ctx context.Context, id erasure.StripeID) ([]CatalogEntry, error) {
	p, err := getBlob(ctx, r.store, r.ident, id, "catalog")
	if err != nil {
		return nil, err
	}
	b, err := unpadRecord(catalogMagic, p)
	if err != nil {
		return nil, fmt.Errorf("backup: catalog %v: %w", id, err)
	}
	return decodeCatalog(b)
}

// Snapshots lists every snapshot of every head in the KV: the union of
// their catalogs less the forgotten ones, oldest first.
func (r *Reader) Snapshots(ctx context.Context) ([]CatalogEntry, error) {
	es, err := r.Catalogs(ctx)
	return live(es), err
}

// Catalogs is the union of the catalogs of every head in the KV,
// tombstones of forgotten snapshots included (for Writer.MergeCatalog).
func (r *Reader) Catalogs(ctx context.Context) ([]CatalogEntry, error) {
	hs, err := r.Heads(ctx)
	if err != nil {
		return nil, err
	}
	var lists [][]CatalogEntry
	for _, h := range hs {
		es, err := r.Catalog(ctx, h.Catalog)
		if err != nil {
			return nil, err
		}
		lists = append(lists, es)
	}
	return mergeCatalog(lists...), nil
}

// Find resolves a snapshot name among Snapshots: "latest", or a (prefix of
// a) snapshot ID in hex of at least 4 digits.
func (r *Reader) Find(ctx context.Context, name string) (CatalogEntry, error) {
	es, err := r.Snapshots(ctx)
	if err != nil {
		return CatalogEntry{}, err
	}
	return findSnapshot(es, name)
}

func findSnapshot(es []CatalogEntry, name string) (CatalogEntry, error) {
	if name == "latest" {
		if len(es) == 0 {
			return CatalogEntry{}, fmt.Errorf("%w: there are no snapshots yet", ErrSnapshotNotFound)
		}
		return es[len(es)-1], nil
	}
	name = strings.ToLower(name)
	if len(name) < 4 || len(name) > 64 || strings.Trim(name, "0123456789abcdef") != "" {
		return CatalogEntry{}, fmt.Errorf("%w: %q is not \"latest\" or a snapshot ID", ErrSnapshotNotFound, name)
	}
	var found []CatalogEntry
	for _, e := range es {
		if strings.HasPrefix(e.ID.String(), name) {
			found = append(found, e)
		}
	}
	switch len(found) {
	case 0:
		return CatalogEntry{}, fmt.Errorf("%w: %s", ErrSnapshotNotFound, name)
	case 1:
		return found[0], nil
	}
	return CatalogEntry{}, fmt.Errorf("%w: %s is ambiguous (%d snapshots)", ErrSnapshotNotFound, name, len(found))
}

// Snapshot reads a snapshot blob.
func (r *Reader) Snapshot(ctx context.Context, id erasure.StripeID) (*Snapshot, error) {
	p, err := getBlob(ctx, r.store, r.ident, id, "snapshot")
	if err != nil {
		return nil, err
	}
	b, err := unpadRecord(snapshotMagic, p)
	if err != nil {
		return nil, fmt.Errorf("backup: snapshot %v: %w", id, err)
	}
	s, err := decodeSnapshot(b)
	if err != nil {
		return nil, fmt.Errorf("backup: snapshot %v: %w", id, err)
	}
	s.ID = id
	return s, nil
}

// open reads a snapshot and the index it needs.
func (r *Reader) open(ctx context.Context, id erasure.StripeID) (*Snapshot, error) {
	s, err := r.Snapshot(ctx, id)
	if err != nil {
		return nil, err
	}
	return s, r.loadIndex(ctx, s.IndexPacks)
}

// loadIndex reads index packs into the index: the entries of their headers
// and of the index chunks they hold.
func (r *Reader) loadIndex(ctx context.Context, packs []erasure.StripeID) error {
	for _, id := range packs {
		r.mu.Lock()
		done := r.loaded[id]
		r.mu.Unlock()
		if done {
			continue
		}
		p, err := r.pack(ctx, id)
		if err != nil {
			return err
		}
		r.idx.add(id, p.entries)
		for _, e := range p.entries {
			if e.Type != ChunkIndex {
				continue
			}
			raw, err := r.chunkFrom(p, e, nil)
			if err != nil {
				return fmt.Errorf("backup: index pack %v: %w", id, err)
			}
			ps, err := decodeIndex(raw)
			if err != nil {
				return fmt.Errorf("backup: index pack %v: %w", id, err)
			}
			for _, ip := range ps {
				r.idx.add(ip.Pack, ip.Entries)
			}
		}
		r.mu.Lock()
		r.loaded[id] = true
		r.mu.Unlock()
	}
	return nil
}

// openedPack is a decrypted, parsed pack.
type openedPack struct {
	id      erasure.StripeID
	plain   []byte
	entries []packEntry
	end     uint64 // where the bodies end (the header's offset)
}

// openPack fetches, decrypts and parses a pack (not cached).
func (r *Reader) openPack(ctx context.Context, id erasure.StripeID) (*openedPack, error) {
	return r.openPackInto(ctx, id, nil)
}

// openPackInto is openPack with buffers from spare (getBlobInto): the
// caller gives p.plain back to spare when done with the pack.
func (r *Reader) openPackInto(ctx context.Context, id erasure.StripeID, spare *bufList) (*openedPack, error) {
	p, err := getBlobInto(ctx, r.store, r.ident, id, "pack", spare)
	if err != nil {
		return nil, err
	}
	es, end, err := parsePack(p)
	if err != nil {
		spare.put(p)
		return nil, fmt.Errorf("backup: pack %v: %w", id, err)
	}
	return &openedPack{id: id, plain: p, entries: es, end: end}, nil
}

// pack returns a pack through the cache of metadata packs.
func (r *Reader) pack(ctx context.Context, id erasure.StripeID) (*openedPack, error) {
	if p := r.cache.get(id); p != nil {
		return p, nil
	}
	p, err := r.openPack(ctx, id)
	if err != nil {
		return nil, err
	}
	r.cache.put(p)
	return p, nil
}

// chunkFrom returns the raw chunk e of pack p, checked against its ID.
func (r *Reader) chunkFrom(p *openedPack, e packEntry, dst []byte) ([]byte, error) {
	if err := e.check(p.end); err != nil {
		return nil, fmt.Errorf("pack %v: %w", p.id, err)
	}
	raw, err := decodeBody(p.plain[e.Off:e.Off+e.Len], int(e.Raw), dst)
	if err != nil {
		return nil, fmt.Errorf("chunk %v in pack %v: %w", e.ID, p.id, err)
	}
	h := r.hashers.Get().(*idHasher)
	sum := h.sum(raw)
	r.hashers.Put(h)
	if sum != e.ID {
		return nil, fmt.Errorf("%w: chunk %v in pack %v does not match its ID", ErrCorrupt, e.ID, p.id)
	}
	return raw, nil
}

// chunk reads a chunk by ID through the index (metadata chunks: the packs
// are cached).
func (r *Reader) chunk(ctx context.Context, id crypto.ChunkID) ([]byte, error) {
	pid, e, ok := r.idx.lookup(id)
	if !ok {
		return nil, fmt.Errorf("%w: chunk %v is not in the snapshot's index", ErrCorrupt, id)
	}
	p, err := r.pack(ctx, pid)
	if err != nil {
		return nil, err
	}
	return r.chunkFrom(p, e, nil)
}

// tree reads and decodes a tree.
func (r *Reader) tree(ctx context.Context, id crypto.ChunkID) ([]node, error) {
	b, err := r.chunk(ctx, id)
	if err != nil {
		return nil, err
	}
	nodes, err := decodeTree(b)
	if err != nil {
		return nil, fmt.Errorf("backup: tree %v: %w", id, err)
	}
	return nodes, nil
}
