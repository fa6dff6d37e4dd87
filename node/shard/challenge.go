package shard

import (
	"crypto/rand"
	"crypto/sha256"
	"time"

	"respaldo/crypto"
	"respaldo/erasure"
)

// Proof domains: a read proof never passes as a deletion proof (crypto adds
// its own domains on top: respaldo/v1/stripe-read-proof, -delete-proof).
const (
	domainGet    = "respaldo/shard/get/v1"
	domainDelete = "respaldo/shard/delete/v1"
)

// challengeBody is what the requester signs: a CBOR array of seven items in
// core deterministic encoding (docs/protocol-shard.md, "Challenge"). Peer
// IDs are byte strings of the IDs' text form (peer.ID.String()).
type challengeBody struct {
	_         struct{} `cbor:",toarray"`
	Domain    string
	Stripe    []byte
	Index     int
	Holder    []byte
	Requester []byte
	Time      int64
	Nonce     []byte
}

// challenge returns the canonical bytes the requester signs. Because it
// names the holder and the requester, a proof seen by one holder does not
// pass at another, nor from another requester.
func challenge(domain string, stripe erasure.StripeID, index int, holder, requester string, unix int64, nonce []byte) []byte {
	return marshal(&challengeBody{
		Domain:    domain,
		Stripe:    stripe[:],
		Index:     index,
		Holder:    []byte(holder),
		Requester: []byte(requester),
		Time:      unix,
		Nonce:     nonce,
	})
}

// newProof signs a fresh challenge with sign (a secret's Prove).
func newProof(domain string, stripe erasure.StripeID, index int, holder, requester string, now time.Time, sign func([]byte) crypto.Signature) *wireProof {
	nonce := make([]byte, nonceSize)
	rand.Read(nonce) // never fails (crypto/rand)
	t := now.Unix()
	sig := sign(challenge(domain, stripe, index, holder, requester, t, nonce))
	return &wireProof{Time: t, Nonce: nonce, Sig: sig[:]}
}

// checkProof verifies p as the remote's proof for (op, stripe, index) at
// this holder, then remembers it so that it is refused if it comes again.
// verify is ProofKey.VerifyRead or VerifyDelete of the descriptor's key.
func (h *Handler) checkProof(domain string, stripe erasure.StripeID, index int, remote string, p *wireProof,
	verify func([]byte, crypto.Signature) error, lim Limits) error {
	now := h.now()
	t := time.Unix(p.Time, 0)
	if t.Before(now.Add(-lim.ClockSkew)) || t.After(now.Add(lim.ClockSkew)) {
		return refuse(ErrDenied, "proof made at "+t.UTC().Format(time.RFC3339)+", more than "+lim.ClockSkew.String()+" from the holder's clock")
	}
	ch := challenge(domain, stripe, index, h.Self, remote, p.Time, p.Nonce)
	if err := verify(ch, crypto.Signature(p.Sig)); err != nil {
		return refuseCause(ErrDenied, "proof does not verify (wrong secret, or made for another holder, requester, stripe or shard)", err)
	}
	return h.remember(sha256.Sum256(ch), p.Time+int64(lim.ClockSkew/time.Second)+1, now, lim.MaxProofs)
}

// remember records a verified challenge until its expiry (unix seconds),
// after which its time is out of the window anyway. A challenge seen
// before is refused; when MaxProofs unexpired ones are held, new proofs
// are refused with ErrBusy rather than forgetting one early.
func (h *Handler) remember(key [32]byte, expiry int64, now time.Time, max int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen = make(map[[32]byte]int64)
	}
	if _, ok := h.seen[key]; ok {
		return refuse(ErrDenied, "proof already used (replay)")
	}
	if len(h.seen) >= max {
		for k, exp := range h.seen {
			if exp < now.Unix() {
				delete(h.seen, k)
			}
		}
		if len(h.seen) >= max {
			return refuse(ErrBusy, "too many recent proofs to remember")
		}
	}
	h.seen[key] = expiry
	return nil
}
