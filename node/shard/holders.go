package shard

import (
	"context"
	"fmt"

	"respaldo/erasure"
	"respaldo/node/store"
)

// HolderMapPrefix begins the key of each holder map in store.Records:
// HolderMapPrefix + the stripe ID in hex. A holder keeps, for each stripe
// it holds a shard of, which peer holds each shard index: as the writer
// placed it (sent with the put), and as repair and drain move shards
// (SetHolderMap). It is a hint for repair, which checks it with has and
// locate before it trusts it.
const HolderMapPrefix = "shard/holders/"

// maxPeerIDLen bounds one holder's ID in a request (a peer ID's string is
// about 52 characters).
const maxPeerIDLen = 128

type holderMap struct {
	Version int      `cbor:"0,keyasint"`
	Holders []string `cbor:"1,keyasint"`
}

func holderMapKey(id erasure.StripeID) []byte { return []byte(HolderMapPrefix + id.String()) }

// SetHolderMap records holders (a peer ID per shard index, "" where
// unknown) as the holder map of stripe id.
func SetHolderMap(ctx context.Context, r store.Records, id erasure.StripeID, holders []string) error {
	if len(holders) > erasure.MaxShards {
		return fmt.Errorf("shard: holder map of %d entries", len(holders))
	}
	return r.Put(ctx, holderMapKey(id), marshal(&holderMap{Version: 1, Holders: holders}))
}

// HolderMap returns the holder map of stripe id; store.ErrNotFound if none
// is kept.
func HolderMap(ctx context.Context, r store.Records, id erasure.StripeID) ([]string, error) {
	b, err := r.Get(ctx, holderMapKey(id))
	if err != nil {
		return nil, err
	}
	var m holderMap
	if err := decodeCanonical(b, &m); err != nil || m.Version != 1 {
		return nil, fmt.Errorf("%w: holder map of %v does not decode", store.ErrCorrupt, id)
	}
	return m.Holders, nil
}

// DeleteHolderMap forgets the holder map of stripe id (the stripe's last
// shard here is gone).
func DeleteHolderMap(ctx context.Context, r store.Records, id erasure.StripeID) error {
	return r.Delete(ctx, holderMapKey(id))
}
