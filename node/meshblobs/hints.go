package meshblobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/fxamacker/cbor/v2"
	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/erasure"
)

// HintPrefix begins the key of every hint record:
// "meshblobs/hint/<stripe ID, 64 lowercase hex>".
const HintPrefix = "meshblobs/hint/"

// hintVersion is the version of the hint record format.
const hintVersion = 1

// hintRecord is a hint's stored form: a CBOR map with integer keys in core
// deterministic encoding, {0: version, 1: canonical descriptor, 2: holder
// peer IDs by shard index, "" for unknown}.
type hintRecord struct {
	Version int      `cbor:"0,keyasint"`
	Desc    []byte   `cbor:"1,keyasint"`
	Holders []string `cbor:"2,keyasint"`
}

// hint is what the member knows of a stripe: its descriptor and where each
// shard was last seen ("" unknown).
type hint struct {
	d       *erasure.Descriptor
	holders []peer.ID
}

var (
	hintEnc = func() cbor.EncMode {
		m, err := cbor.CoreDetEncOptions().EncMode()
		if err != nil {
			panic(err)
		}
		return m
	}()
	hintDec = func() cbor.DecMode {
		m, err := cbor.DecOptions{DupMapKey: cbor.DupMapKeyEnforcedAPF, ExtraReturnErrors: cbor.ExtraDecErrorUnknownField}.DecMode()
		if err != nil {
			panic(err)
		}
		return m
	}()
)

func hintKey(id erasure.StripeID) []byte { return []byte(HintPrefix + id.String()) }

func (h *hint) marshal() []byte {
	r := hintRecord{Version: hintVersion, Desc: h.d.Marshal(), Holders: make([]string, len(h.holders))}
	for i, p := range h.holders {
		if p != "" {
			r.Holders[i] = p.String()
		}
	}
	b, err := hintEnc.Marshal(r)
	if err != nil {
		panic(err) // a struct of bytes and strings always encodes
	}
	return b
}

// parseHint decodes a hint record of stripe id. Holders that do not parse
// are unknown; a record of another version or stripe is an error.
func parseHint(b []byte, id erasure.StripeID) (*hint, error) {
	var r hintRecord
	if err := hintDec.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("meshblobs: hint: %w", err)
	}
	if r.Version != hintVersion {
		return nil, fmt.Errorf("meshblobs: hint version %d", r.Version)
	}
	d, err := erasure.OpenDescriptor(r.Desc, id)
	if err != nil {
		return nil, fmt.Errorf("meshblobs: hint: %w", err)
	}
	h := &hint{d: d, holders: make([]peer.ID, len(d.Shards))}
	if len(r.Holders) == len(h.holders) {
		for i, s := range r.Holders {
			if p, err := peer.Decode(s); err == nil {
				h.holders[i] = p
			}
		}
	}
	return h, nil
}

// loadHint returns the member's hint of id, or nil.
func (b *Blobs) loadHint(ctx context.Context, id erasure.StripeID) *hint {
	v, err := b.hints.Get(ctx, hintKey(id))
	if err != nil {
		return nil
	}
	h, err := parseHint(v, id)
	if err != nil {
		b.log().Debug("meshblobs: ignoring a bad hint", "stripe", id, "err", err)
		return nil
	}
	return h
}

// saveHint stores h unless it equals old. A failure is logged: hints only
// save lookups.
func (b *Blobs) saveHint(ctx context.Context, id erasure.StripeID, h, old *hint) {
	if old != nil && slices.Equal(h.holders, old.holders) {
		return
	}
	if err := b.hints.Put(ctx, hintKey(id), h.marshal()); err != nil {
		b.log().Warn("meshblobs: cannot save holder hints", "stripe", id, "err", err)
		return
	}
	b.stats.hintWrites.Add(1)
}

// MemHints is an in-memory Hints for tests and for nodes without records.
// Safe for concurrent use.
type MemHints struct {
	mu sync.Mutex
	m  map[string][]byte
}

// errNoHint is MemHints's answer for an absent key.
var errNoHint = errors.New("meshblobs: no hint")

// NewMemHints returns an empty MemHints.
func NewMemHints() *MemHints { return &MemHints{m: map[string][]byte{}} }

// Get implements Hints; it returns a copy.
func (m *MemHints) Get(_ context.Context, key []byte) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[string(key)]
	if !ok {
		return nil, errNoHint
	}
	return bytes.Clone(v), nil
}

// Put implements Hints; it copies val.
func (m *MemHints) Put(_ context.Context, key, val []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[string(key)] = bytes.Clone(val)
	return nil
}

// Len returns the number of records.
func (m *MemHints) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

// DecodeHint decodes the hint record kept under key (HintPrefix + stripe ID
// in hex): the stripe, its descriptor, and the holder of each shard as last
// seen ("" unknown). For the member's check, which goes over every stripe
// the member's node put.
func DecodeHint(key, val []byte) (erasure.StripeID, *erasure.Descriptor, []peer.ID, error) {
	id, err := erasure.ParseStripeID(string(bytes.TrimPrefix(key, []byte(HintPrefix))))
	if err != nil {
		return erasure.StripeID{}, nil, nil, fmt.Errorf("meshblobs: hint key: %w", err)
	}
	h, err := parseHint(val, id)
	if err != nil {
		return id, nil, nil, err
	}
	return id, h.d, h.holders, nil
}
