package store

import (
	"encoding/binary"
	"errors"

	"github.com/ipfs/go-cid"

	"respaldo/erasure"
)

// Badger key layout (see docs/format-store.md):
//
//	d/ stripe(32)                  → descriptor bytes (erasure.Descriptor.Marshal)
//	s/ stripe(32) index(2, BE)     → size(8, BE) fileSize(8, BE) CID bytes
//	c/ CID bytes stripe(32) index(2, BE) → empty
//	r/ key                         → record value (Records)
//	m/format                       → "1"
var (
	prefixDesc   = []byte("d/")
	prefixShard  = []byte("s/")
	prefixCID    = []byte("c/")
	prefixRecord = []byte("r/")
	keyFormat    = []byte("m/format")
)

const indexFormat = "1"

var errBadKey = errors.New("store: malformed index key")

func descKey(id erasure.StripeID) []byte {
	return append(append([]byte{}, prefixDesc...), id[:]...)
}

func shardKey(ref ShardRef) []byte {
	k := append(append([]byte{}, prefixShard...), ref.Stripe[:]...)
	return binary.BigEndian.AppendUint16(k, uint16(ref.Index))
}

func parseShardKey(k []byte) (ShardRef, error) {
	var ref ShardRef
	if len(k) != len(prefixShard)+32+2 {
		return ref, errBadKey
	}
	k = k[len(prefixShard):]
	copy(ref.Stripe[:], k)
	ref.Index = int(binary.BigEndian.Uint16(k[32:]))
	return ref, nil
}

func cidKey(c cid.Cid, ref ShardRef) []byte {
	k := append(cidPrefix(c), ref.Stripe[:]...)
	return binary.BigEndian.AppendUint16(k, uint16(ref.Index))
}

func cidPrefix(c cid.Cid) []byte {
	return append(append([]byte{}, prefixCID...), c.Bytes()...)
}

// parseCIDKey returns the ref at the end of a c/ key.
func parseCIDKey(k []byte) (ShardRef, error) {
	var ref ShardRef
	if len(k) < len(prefixCID)+34 {
		return ref, errBadKey
	}
	k = k[len(k)-34:]
	copy(ref.Stripe[:], k)
	ref.Index = int(binary.BigEndian.Uint16(k[32:]))
	return ref, nil
}

func recordKey(key []byte) []byte {
	return append(append([]byte{}, prefixRecord...), key...)
}

// entry is the value of an s/ key.
type entry struct {
	Size     int64 // shard bytes
	FileSize int64 // header + shard bytes, as counted in DiskStore.used
	CID      cid.Cid
}

func (e entry) marshal() []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(e.Size))
	b = binary.BigEndian.AppendUint64(b, uint64(e.FileSize))
	return append(b, e.CID.Bytes()...)
}

func parseEntry(b []byte) (entry, error) {
	if len(b) < 16 {
		return entry{}, errBadKey
	}
	c, err := cid.Cast(b[16:])
	if err != nil {
		return entry{}, err
	}
	return entry{
		Size:     int64(binary.BigEndian.Uint64(b)),
		FileSize: int64(binary.BigEndian.Uint64(b[8:])),
		CID:      c,
	}, nil
}
