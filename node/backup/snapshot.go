package backup

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"respaldo/crypto"
	"respaldo/erasure"
)

// Snapshot is one backup: when, where from, what, and what a reader needs to
// restore it from nothing (the root tree and the index packs). Its ID is the
// stripe ID of its blob.
type Snapshot struct {
	ID     erasure.StripeID `json:"id"`
	Time   time.Time        `json:"time"`
	Host   string           `json:"host"`
	Device string           `json:"device"`
	Paths  []string         `json:"paths"` // absolute, as backed up (bytes, maybe not UTF-8)
	Tags   []string         `json:"tags,omitempty"`
	Files  int64            `json:"files"`
	Dirs   int64            `json:"dirs"`
	Bytes  int64            `json:"bytes"`
	// Root is the chunk ID of the root tree: one entry per backed-up path.
	Root crypto.ChunkID `json:"-"`
	// IndexPacks are the packs whose index chunks and headers hold the
	// location of every chunk the snapshot refers to.
	IndexPacks []erasure.StripeID `json:"-"`
}

const snapshotVersion = 1

type snapshotRecord struct {
	V          uint               `cbor:"1,keyasint"`
	Time       int64              `cbor:"2,keyasint"` // ns since 1970
	Host       string             `cbor:"3,keyasint"`
	Device     string             `cbor:"4,keyasint"`
	Paths      [][]byte           `cbor:"5,keyasint"`
	Tags       []string           `cbor:"6,keyasint,omitempty"`
	Root       crypto.ChunkID     `cbor:"7,keyasint"`
	Files      uint64             `cbor:"8,keyasint"`
	Dirs       uint64             `cbor:"9,keyasint"`
	Bytes      uint64             `cbor:"10,keyasint"`
	IndexPacks []erasure.StripeID `cbor:"11,keyasint"`
}

func (s *Snapshot) record() snapshotRecord {
	return snapshotRecord{
		V: snapshotVersion, Time: s.Time.UnixNano(), Host: s.Host, Device: s.Device,
		Paths: toBytes(s.Paths), Tags: s.Tags, Root: s.Root,
		Files: uint64(s.Files), Dirs: uint64(s.Dirs), Bytes: uint64(s.Bytes), IndexPacks: s.IndexPacks,
	}
}

// decodeSnapshot decodes a snapshot record's CBOR. It never panics.
func decodeSnapshot(b []byte) (*Snapshot, error) {
	var r snapshotRecord
	if err := unmarshal("snapshot", b, &r); err != nil {
		return nil, err
	}
	if r.V != snapshotVersion {
		return nil, corruptf("snapshot: version %d, want %d", r.V, snapshotVersion)
	}
	return &Snapshot{
		Time: time.Unix(0, r.Time), Host: r.Host, Device: r.Device, Paths: toStrings(r.Paths), Tags: r.Tags,
		Root: r.Root, Files: clampInt(r.Files), Dirs: clampInt(r.Dirs), Bytes: clampInt(r.Bytes), IndexPacks: r.IndexPacks,
	}, nil
}

// CatalogEntry is what a catalog says of one snapshot: enough to list and
// choose snapshots without fetching each one.
type CatalogEntry struct {
	ID     erasure.StripeID `json:"id"`
	Time   time.Time        `json:"time"`
	Host   string           `json:"host"`
	Device string           `json:"device"`
	Paths  []string         `json:"paths"`
	Tags   []string         `json:"tags,omitempty"`
	Files  int64            `json:"files"`
	Bytes  int64            `json:"bytes"`
	// Forgotten marks a tombstone: the snapshot was forgotten (respaldo
	// forget). Tombstones stay in catalogs, which merge by union, so that a
	// forgotten snapshot does not come back from another device's catalog;
	// Snapshots and Find leave them out.
	Forgotten bool `json:"forgotten,omitempty"`
}

func (s *Snapshot) entry() CatalogEntry {
	return CatalogEntry{ID: s.ID, Time: s.Time, Host: s.Host, Device: s.Device, Paths: s.Paths, Tags: s.Tags, Files: s.Files, Bytes: s.Bytes}
}

const catalogVersion = 1

// catalogRecord is the list of snapshots a head points at. Catalogs only
// grow, and two are merged by union (mergeCatalog), so devices writing their
// own heads never lose each other's snapshots.
type catalogRecord struct {
	V       uint           `cbor:"1,keyasint"`
	Entries []catalogEntry `cbor:"2,keyasint"`
}

type catalogEntry struct {
	ID        erasure.StripeID `cbor:"1,keyasint"`
	Time      int64            `cbor:"2,keyasint"`
	Host      string           `cbor:"3,keyasint"`
	Device    string           `cbor:"4,keyasint"`
	Paths     [][]byte         `cbor:"5,keyasint"`
	Tags      []string         `cbor:"6,keyasint,omitempty"`
	Files     uint64           `cbor:"7,keyasint"`
	Bytes     uint64           `cbor:"8,keyasint"`
	Forgotten bool             `cbor:"9,keyasint,omitempty"`
}

func catalogOf(es []CatalogEntry) catalogRecord {
	r := catalogRecord{V: catalogVersion, Entries: make([]catalogEntry, len(es))}
	for i, e := range es {
		r.Entries[i] = catalogEntry{ID: e.ID, Time: e.Time.UnixNano(), Host: e.Host, Device: e.Device,
			Paths: toBytes(e.Paths), Tags: e.Tags, Files: uint64(e.Files), Bytes: uint64(e.Bytes), Forgotten: e.Forgotten}
	}
	return r
}

// decodeCatalog decodes a catalog record's CBOR, sorted and without
// duplicates. It never panics.
func decodeCatalog(b []byte) ([]CatalogEntry, error) {
	var r catalogRecord
	if err := unmarshal("catalog", b, &r); err != nil {
		return nil, err
	}
	if r.V != catalogVersion {
		return nil, corruptf("catalog: version %d, want %d", r.V, catalogVersion)
	}
	es := make([]CatalogEntry, len(r.Entries))
	for i, e := range r.Entries {
		es[i] = CatalogEntry{ID: e.ID, Time: time.Unix(0, e.Time), Host: e.Host, Device: e.Device,
			Paths: toStrings(e.Paths), Tags: e.Tags, Files: clampInt(e.Files), Bytes: clampInt(e.Bytes), Forgotten: e.Forgotten}
	}
	return mergeCatalog(es), nil
}

// mergeCatalog returns the union of catalogs, by snapshot ID, sorted by
// time then ID. For one ID the first entry seen wins, but forgotten if any
// list has its tombstone.
func mergeCatalog(lists ...[]CatalogEntry) []CatalogEntry {
	var out []CatalogEntry
	seen := make(map[erasure.StripeID]int)
	for _, l := range lists {
		for _, e := range l {
			i, ok := seen[e.ID]
			switch {
			case !ok:
				seen[e.ID] = len(out)
				out = append(out, e)
			case e.Forgotten && !out[i].Forgotten:
				out[i].Forgotten = true // a tombstone wins
			}
		}
	}
	slices.SortStableFunc(out, func(a, b CatalogEntry) int {
		return cmp.Or(a.Time.Compare(b.Time), bytes.Compare(a.ID[:], b.ID[:]))
	})
	return out
}

// Head is the pointer to a device's latest catalog. The mesh will publish
// it signed in the DHT; for now it is kept in the KV (backup/head/<device>).
// Seq grows by one with every backup of the device.
type Head struct {
	Device  string           `json:"device"`
	Catalog erasure.StripeID `json:"catalog"`
	Seq     uint64           `json:"seq"`
}

const headVersion = 1

type headRecord struct {
	V       uint             `cbor:"1,keyasint"`
	Device  string           `cbor:"2,keyasint"`
	Catalog erasure.StripeID `cbor:"3,keyasint"`
	Seq     uint64           `cbor:"4,keyasint"`
}

func decodeHead(b []byte) (Head, error) {
	var r headRecord
	if err := unmarshal("head", b, &r); err != nil {
		return Head{}, err
	}
	if r.V != headVersion {
		return Head{}, corruptf("head: version %d, want %d", r.V, headVersion)
	}
	return Head{Device: r.Device, Catalog: r.Catalog, Seq: r.Seq}, nil
}

const (
	kvHeadPrefix    = "backup/head/"
	kvCatalogPrefix = "backup/catalog/"
)

func toBytes(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func toStrings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func clampInt(u uint64) int64 { return int64(min(u, 1<<63-1)) }

// cleanText makes s fit a CBOR text string.
func cleanText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// HeadKey is the KV key under which a device's head is kept. A node that
// learns a newer head of a device elsewhere (the DHT) puts its encoding
// (HeadBytes) there, and Reader.Snapshots then reads that device's catalog.
func HeadKey(device string) []byte { return []byte(kvHeadPrefix + device) }

// DecodeHead decodes a head as kept under HeadKey; an error wrapping
// ErrCorrupt if b is not one.
func DecodeHead(b []byte) (Head, error) { return decodeHead(b) }

// HeadBytes encodes h as it is kept under HeadKey.
func HeadBytes(h Head) ([]byte, error) {
	return marshal(headRecord{V: headVersion, Device: h.Device, Catalog: h.Catalog, Seq: h.Seq})
}

// live leaves out the tombstones of forgotten snapshots.
func live(es []CatalogEntry) []CatalogEntry {
	out := make([]CatalogEntry, 0, len(es))
	for _, e := range es {
		if !e.Forgotten {
			out = append(out, e)
		}
	}
	return out
}
