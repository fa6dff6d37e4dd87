package shard

import (
	"context"
	"errors"
	"time"

	"respaldo/erasure"
	"respaldo/node/store"
)

// DeletedPrefix begins the key of every deletion record in store.Records:
// DeletedPrefix + the stripe ID in hex. A holder writes one when the owner
// deletes a stripe, and refuses every later put of the stripe, so repair or
// a returning node never brings a deleted stripe back here.
const DeletedPrefix = "shard/deleted/"

// deletionValue is a deletion record's value: {0: version 1, 1: unix time
// of the deletion}, deterministic CBOR.
type deletionValue struct {
	Version int   `cbor:"0,keyasint"`
	Time    int64 `cbor:"1,keyasint"`
}

func deletedKey(id erasure.StripeID) []byte { return []byte(DeletedPrefix + id.String()) }

func deletionRecord(now time.Time) []byte {
	return marshal(&deletionValue{Version: 1, Time: now.Unix()})
}

// IsDeleted reports whether r holds a deletion record of the stripe, i.e.
// its owner deleted it from this node. The daemon's repair loop asks it
// before rebuilding a stripe.
func IsDeleted(ctx context.Context, r store.Records, id erasure.StripeID) (bool, error) {
	_, err := r.Get(ctx, deletedKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// refuseDeleted refuses a stripe that has a deletion record.
func (h *Handler) refuseDeleted(ctx context.Context, id erasure.StripeID) error {
	deleted, err := IsDeleted(ctx, h.Store.Records(), id)
	if err != nil {
		return storeRefusal(err)
	}
	if deleted {
		return refuse(ErrDeleted, "the owner deleted this stripe; it is not taken again")
	}
	return nil
}
