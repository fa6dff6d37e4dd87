package shard

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"respaldo/crypto"
	"respaldo/erasure"
	"respaldo/node/store"
)

// put stores a shard from any admitted peer. It answers only after the
// store's Put returned, i.e. once the shard is durable.
func (h *Handler) put(ctx context.Context, req *request, stripe erasure.StripeID, br *bufio.Reader, m *meter, lim Limits) error {
	d, err := erasure.OpenDescriptor(req.Desc, stripe)
	if err != nil {
		return refuse(ErrBadRequest, err.Error())
	}
	if err := checkIndex(d, req.Index); err != nil {
		return err
	}
	if req.Size != d.ShardSize {
		return refuse(ErrBadRequest, fmt.Sprintf("%d shard bytes announced, the descriptor says %d", req.Size, d.ShardSize))
	}
	if d.ShardSize > lim.MaxShard {
		return refuse(ErrBadRequest, fmt.Sprintf("shard of %d bytes, this holder takes at most %d", d.ShardSize, lim.MaxShard))
	}
	if err := h.refuseDeleted(ctx, stripe); err != nil {
		return err
	}
	if u, err := h.Store.Usage(ctx); err == nil && u.FreeBytes < d.ShardSize {
		return refuse(ErrNoSpace, fmt.Sprintf("%d bytes free, the shard has %d", u.FreeBytes, d.ShardSize))
	}
	buf := getShardBuf(d.ShardSize)
	defer putShardBuf(buf)
	data := *buf
	if _, err := io.ReadFull(br, data); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return refuseCause(ErrBadRequest, "the stream ended inside the shard bytes", err)
		}
		return err
	}
	if req.Holders != nil && len(req.Holders) != len(d.Shards) {
		return refuse(ErrBadRequest, fmt.Sprintf("%d holders for %d shards", len(req.Holders), len(d.Shards)))
	}
	unlock := h.lockStripe(stripe)
	err = h.refuseDeleted(ctx, stripe)
	if err == nil {
		err = storeRefusal(h.Store.Put(ctx, d, req.Index, data))
	}
	if err == nil && req.Holders != nil {
		// The map is a hint kept for repair: failing to keep it does not
		// fail the put, which is durable already.
		if merr := SetHolderMap(ctx, h.Store.Records(), stripe, req.Holders); merr != nil {
			h.log().Warn("shard: holder map not kept", "stripe", stripe, "err", merr)
		}
	}
	unlock()
	if err != nil {
		return err
	}
	return h.ok(m, response{}, nil)
}

// get serves a shard to the owner (proof of the read secret) or to a
// requester the Authorizer approves.
func (h *Handler) get(ctx context.Context, remote string, req *request, stripe erasure.StripeID, m *meter, lim Limits) error {
	d, err := h.heldDescriptor(ctx, stripe, req.Index)
	if err != nil {
		return err
	}
	if req.Proof != nil {
		err = h.checkProof(domainGet, stripe, req.Index, remote, req.Proof, crypto.ProofKey(d.Secrets.ReadKey).VerifyRead, lim)
		if err != nil {
			return err
		}
	} else if h.Auth == nil || !h.Auth.AllowGet(remote, stripe, req.Index) {
		return refuse(ErrDenied, "no proof of the stripe's read secret, and not approved as a repairing co-holder")
	}
	// Not hashed here (store.Lender): the reader checks the bytes against
	// their CID, and damage is the scrub's to find.
	data, release, err := store.ReadLent(ctx, h.Store, store.ShardRef{Stripe: stripe, Index: req.Index})
	if err != nil {
		return storeRefusal(err)
	}
	defer release() // the answer is written (or failed) by then
	return h.ok(m, response{Size: int64(len(data))}, data)
}

// has tells any admitted peer whether the shard is held, and its size.
func (h *Handler) has(ctx context.Context, req *request, stripe erasure.StripeID, m *meter) error {
	held, err := h.Store.Has(ctx, store.ShardRef{Stripe: stripe, Index: req.Index})
	if err != nil {
		return storeRefusal(err)
	}
	var size int64
	if held {
		if d, err := h.Store.Descriptor(ctx, stripe); err == nil {
			size = d.ShardSize
		}
	}
	return h.ok(m, response{Held: held, Size: size}, nil)
}

// delete removes every held shard of the stripe for its owner, after
// writing a deletion record that refuses the stripe from then on.
func (h *Handler) delete(ctx context.Context, remote string, req *request, stripe erasure.StripeID, m *meter, lim Limits) error {
	var d *erasure.Descriptor
	if req.Desc != nil {
		var err error
		if d, err = erasure.OpenDescriptor(req.Desc, stripe); err != nil {
			return refuse(ErrBadRequest, err.Error())
		}
		if err := checkIndex(d, req.Index); err != nil {
			return err
		}
	} else {
		var err error
		if d, err = h.heldDescriptor(ctx, stripe, req.Index); err != nil {
			return err
		}
	}
	err := h.checkProof(domainDelete, stripe, req.Index, remote, req.Proof, crypto.ProofKey(d.Secrets.DeleteKey).VerifyDelete, lim)
	if err != nil {
		return err
	}
	unlock := h.lockStripe(stripe)
	defer unlock()
	if err := h.Store.Records().Put(ctx, deletedKey(stripe), deletionRecord(h.now())); err != nil {
		return storeRefusal(err)
	}
	for i := range d.Shards {
		err := h.Store.Delete(ctx, store.ShardRef{Stripe: stripe, Index: i})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return storeRefusal(err)
		}
	}
	if err := DeleteHolderMap(ctx, h.Store.Records(), stripe); err != nil {
		h.log().Warn("shard: holder map not deleted", "stripe", stripe, "err", err)
	}
	return h.ok(m, response{}, nil)
}

// audit proves possession of one piece of a shard to a peer the Authorizer
// approves (a holder of the same stripe).
func (h *Handler) audit(ctx context.Context, remote string, req *request, stripe erasure.StripeID, m *meter) error {
	if h.Auth == nil || !h.Auth.AllowAudit(remote, stripe, req.Index) {
		return refuse(ErrDenied, "only a holder of the same stripe may audit")
	}
	data, err := h.Store.Get(ctx, store.ShardRef{Stripe: stripe, Index: req.Index})
	if err != nil {
		return storeRefusal(err)
	}
	piece, proof, err := erasure.PieceProof(data, req.Piece)
	if err != nil {
		return refuse(ErrBadRequest, err.Error())
	}
	hashes := make([][]byte, len(proof))
	for i := range proof {
		hashes[i] = proof[i][:]
	}
	return h.ok(m, response{Size: int64(len(piece)), Proof: hashes}, piece)
}

// locate tells any admitted peer the stripe's canonical descriptor and the
// indexes of the shards held of it, without reading their bytes. Neither is
// secret: descriptors are ciphertext-level facts, and has tells the same
// per shard.
func (h *Handler) locate(ctx context.Context, stripe erasure.StripeID, m *meter) error {
	if err := h.refuseDeleted(ctx, stripe); err != nil {
		return err
	}
	d, err := h.Store.Descriptor(ctx, stripe)
	if errors.Is(err, store.ErrNotFound) {
		return refuseCause(ErrNotFound, "no shard of this stripe is held", err)
	}
	if err != nil {
		return storeRefusal(err)
	}
	var held []int
	for i := range d.Shards {
		ok, err := h.Store.Has(ctx, store.ShardRef{Stripe: stripe, Index: i})
		if err != nil {
			return storeRefusal(err)
		}
		if ok {
			held = append(held, i)
		}
	}
	if len(held) == 0 {
		return refuse(ErrNotFound, "no shard of this stripe is held")
	}
	body := d.Marshal()
	if len(body) > erasure.MaxDescriptorSize {
		return refuseCause(ErrInternal, "", fmt.Errorf("stored descriptor of %d bytes", len(body)))
	}
	return h.ok(m, response{Size: int64(len(body)), Indexes: held}, body)
}

// heldDescriptor returns the descriptor of a stripe of which a shard is
// held, checking index against it.
func (h *Handler) heldDescriptor(ctx context.Context, stripe erasure.StripeID, index int) (*erasure.Descriptor, error) {
	d, err := h.Store.Descriptor(ctx, stripe)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuseCause(ErrNotFound, "no shard of this stripe is held", err)
	}
	if err != nil {
		return nil, storeRefusal(err)
	}
	return d, checkIndex(d, index)
}

func checkIndex(d *erasure.Descriptor, index int) error {
	if index >= len(d.Shards) {
		return refuse(ErrBadRequest, fmt.Sprintf("shard index %d out of range for a %d+%d stripe", index, d.K, d.M))
	}
	return nil
}

// storeRefusal turns a store error into the refusal the peer sees: codes
// for what the peer can act on, "internal" (without detail) for the rest.
// Context errors pass through unanswered. nil stays nil.
func storeRefusal(err error) error {
	var se *erasure.ShardError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, store.ErrNoSpace):
		return refuseCause(ErrNoSpace, "the shard does not fit", err)
	case errors.Is(err, store.ErrCorrupt):
		return refuseCause(ErrNotFound, "the held copy is damaged", err)
	case errors.Is(err, store.ErrNotFound):
		return refuseCause(ErrNotFound, "shard not held", err)
	case errors.As(err, &se):
		return refuseCause(ErrWrongShard, se.Error(), err)
	case errors.Is(err, erasure.ErrBadDescriptor):
		return refuseCause(ErrBadRequest, "descriptor refused by the store", err)
	}
	return refuseCause(ErrInternal, "", err)
}
