package node

import (
	"context"
	"slices"
	"time"

	"respaldo/erasure"
	"respaldo/node/mesh"
)

// The shard handler's Authorizer (DESIGN.md promise 9: ciphertext goes
// only to the stripe's owner or to a co-holder repairing that stripe).
//
// A get without a read proof is approved only for a peer that the roster
// admits and that this node's own plan of the stripe, made now from what
// it knows (holder map, locate answers, audits, the peer table), counts
// among the stripe's possible leaders while the stripe is due for repair:
// a live holder of a good copy. So an admitted node that holds nothing of
// the stripe is refused, and so is a co-holder while the stripe is
// healthy, or while this node does not see it as due (a stopped holder
// coming back with its old identity to collect its co-holders' shards
// makes the stripe healthier, not due: scripts/harvest). A refused request
// from a peer this node knows as a holder makes it check the stripe at its
// next pass (locate and an audit of every copy, at most every checkEvery):
// the leader may know of a failed copy that this node has not audited yet;
// the leader asks again in its next pass.
//
// An audit (one 64 KiB piece with its proof) is approved for any admitted
// peer this node knows as a holder of the stripe.

// AllowGet implements shard.Authorizer.
func (r *repairState) AllowGet(remote string, stripe erasure.StripeID, index int) bool {
	n := r.n
	p := mesh.PeerID(remote)
	if !n.roster.Allowed(p, n.now()) {
		return false
	}
	ctx, cancel := context.WithTimeout(n.life, 5*time.Second)
	defer cancel()
	st, err := r.load(ctx, stripe)
	if err != nil {
		return false
	}
	plan, err := r.replan(ctx, st)
	if err == nil && plan.Due && slices.Contains(plan.Leaders, p) {
		return true
	}
	if r.knownHolder(ctx, st, p) {
		r.askCheck(st)
	}
	return false
}

// AllowAudit implements shard.Authorizer.
func (r *repairState) AllowAudit(remote string, stripe erasure.StripeID, index int) bool {
	n := r.n
	p := mesh.PeerID(remote)
	if !n.roster.Allowed(p, n.now()) {
		return false
	}
	ctx, cancel := context.WithTimeout(n.life, 5*time.Second)
	defer cancel()
	st, err := r.load(ctx, stripe)
	return err == nil && r.knownHolder(ctx, st, p)
}

// knownHolder: the holder map names p, or p said (locate) it holds a
// shard of the stripe.
func (r *repairState) knownHolder(ctx context.Context, st *stripeState, p mesh.PeerID) bool {
	if slices.Contains(r.n.holderMap(ctx, st), string(p)) {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(st.located[p]) > 0
}

// askCheck has the next pass check the stripe, and hurries it.
func (r *repairState) askCheck(st *stripeState) {
	now := r.n.now()
	r.mu.Lock()
	if !st.checkAt.IsZero() && now.Sub(st.checkAt) < checkEvery {
		r.mu.Unlock()
		return
	}
	st.check, st.checkAt = true, now
	r.mu.Unlock()
	r.wake()
}
