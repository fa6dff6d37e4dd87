package backup

import (
	"slices"
	"sync"

	"respaldo/crypto"
	"respaldo/erasure"
)

// The index maps a chunk ID to where the chunk is stored: pack stripe ID,
// offset, stored and raw length, type. It travels in packs as chunks of type
// index (indexRecord), grouped into segments (see segments.go); the packs of
// a snapshot's segments are listed in the snapshot, so a reader rebuilds the
// index from the snapshot alone.

const (
	indexVersion = 1
	// indexChunkEntries bounds an index chunk to about 1 MiB of CBOR.
	indexChunkEntries = 12 << 10
)

// indexRecord is the content of an index chunk: entries grouped by pack.
type indexRecord struct {
	V     uint        `cbor:"1,keyasint"`
	Packs []indexPack `cbor:"2,keyasint"`
}

type indexPack struct {
	_       struct{} `cbor:",toarray"`
	Pack    erasure.StripeID
	Entries []packEntry
}

// decodeIndex decodes and checks an index record. It never panics.
func decodeIndex(b []byte) ([]indexPack, error) {
	var r indexRecord
	if err := unmarshal("index", b, &r); err != nil {
		return nil, err
	}
	if r.V != indexVersion {
		return nil, corruptf("index: version %d, want %d", r.V, indexVersion)
	}
	for _, p := range r.Packs {
		for _, e := range p.Entries {
			if err := e.check(maxPlaintext); err != nil {
				return nil, err
			}
		}
	}
	return r.Packs, nil
}

// encodeIndex encodes entries as index records of at most
// indexChunkEntries entries each.
func encodeIndex(packs []indexPack) ([][]byte, error) {
	var out [][]byte
	var cur []indexPack
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		b, err := marshal(indexRecord{V: indexVersion, Packs: cur})
		if err != nil {
			return err
		}
		out = append(out, b)
		cur, n = nil, 0
		return nil
	}
	for _, p := range packs {
		for es := p.Entries; len(es) > 0; {
			k := min(len(es), indexChunkEntries-n)
			cur = append(cur, indexPack{Pack: p.Pack, Entries: es[:k]})
			es, n = es[k:], n+k
			if n == indexChunkEntries {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, flush()
}

// location is an index entry in memory; pack is a number in index.packs.
type location struct {
	pack uint32
	typ  ChunkType
	off  uint32
	len  uint32
	raw  uint32
}

// index is the in-memory chunk index. Safe for concurrent use.
type index struct {
	mu      sync.RWMutex
	packs   []erasure.StripeID
	packNum map[erasure.StripeID]uint32
	m       map[crypto.ChunkID]location
}

func newIndex() *index {
	return &index{packNum: make(map[erasure.StripeID]uint32), m: make(map[crypto.ChunkID]location)}
}

// add records the entries of a pack (later entries for an ID win).
func (x *index) add(pack erasure.StripeID, es []packEntry) {
	x.mu.Lock()
	defer x.mu.Unlock()
	n, ok := x.packNum[pack]
	if !ok {
		n = uint32(len(x.packs))
		x.packs = append(x.packs, pack)
		x.packNum[pack] = n
	}
	for _, e := range es {
		x.m[e.ID] = location{pack: n, typ: e.Type, off: e.Off, len: e.Len, raw: e.Raw}
	}
}

func (x *index) has(id crypto.ChunkID) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	_, ok := x.m[id]
	return ok
}

// lookup returns the pack and entry of a chunk.
func (x *index) lookup(id crypto.ChunkID) (erasure.StripeID, packEntry, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	l, ok := x.m[id]
	if !ok {
		return erasure.StripeID{}, packEntry{}, false
	}
	return x.packs[l.pack], packEntry{ID: id, Type: l.typ, Off: l.off, Len: l.len, Raw: l.raw}, true
}

func (x *index) len() int { x.mu.RLock(); defer x.mu.RUnlock(); return len(x.m) }

// groupByPack sorts entries into per-pack groups, in the order packs first
// appear.
func groupByPack(es []packRef) []indexPack {
	var out []indexPack
	pos := make(map[erasure.StripeID]int)
	for _, e := range es {
		i, ok := pos[e.pack]
		if !ok {
			i = len(out)
			pos[e.pack] = i
			out = append(out, indexPack{Pack: e.pack})
		}
		out[i].Entries = append(out[i].Entries, e.e)
	}
	return out
}

// packRef is an index entry with its pack.
type packRef struct {
	pack erasure.StripeID
	e    packEntry
}

func flatten(ps []indexPack) []packRef {
	var out []packRef
	for _, p := range ps {
		for _, e := range p.Entries {
			out = append(out, packRef{p.Pack, e})
		}
	}
	return out
}

// withoutType drops entries of type t.
func withoutType(es []packRef, t ChunkType) []packRef {
	return slices.DeleteFunc(es, func(r packRef) bool { return r.e.Type == t })
}
