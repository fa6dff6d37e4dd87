package placement

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"slices"

	"respaldo/erasure"
	"respaldo/node/mesh"
)

// rhash is the rendezvous hash of a peer for a stripe: SHA-256 of the
// stripe ID's 32 bytes followed by the peer ID's bytes. The stripe ID has a
// fixed length, so the concatenation is unambiguous.
func rhash(stripe erasure.StripeID, peer mesh.PeerID) [32]byte {
	buf := make([]byte, 0, len(stripe)+len(peer))
	buf = append(append(buf, stripe[:]...), peer...)
	return sha256.Sum256(buf)
}

// unit maps a hash into (0, 1): its first 52 bits, plus one half, over
// 2^52, exactly representable. From 2^-53 to 1-2^-53: never 0 or 1, so
// its logarithm is finite and negative.
func unit(h [32]byte) float64 {
	return (float64(binary.BigEndian.Uint64(h[:8])>>12) + 0.5) / (1 << 52)
}

// score is the weighted rendezvous score -w/ln(u): the peer with the
// highest score wins. For u uniform in (0, 1) this is the exponential race
// (-ln u)/w with the order flipped, so a peer is first with probability
// w/Σw, and removing or adding a peer never reorders the others.
func score(w float64, h [32]byte) float64 { return -w / math.Log(unit(h)) }

// RendezvousOrder returns the peers in the order readers probe them for a
// stripe's shards: by SHA-256(stripe || peer), highest first (the
// unweighted rendezvous order; with equal weights Place picks in this
// order too). Duplicates are
// dropped. It uses integer comparisons only, so every machine computes the
// same order. The result is newly allocated.
func RendezvousOrder(stripe erasure.StripeID, peers []mesh.PeerID) []mesh.PeerID {
	type ph struct {
		id mesh.PeerID
		h  [32]byte
	}
	hs := make([]ph, 0, len(peers))
	for _, id := range peers {
		hs = append(hs, ph{id, rhash(stripe, id)})
	}
	slices.SortFunc(hs, func(a, b ph) int {
		if c := bytes.Compare(b.h[:], a.h[:]); c != 0 {
			return c
		}
		return compareIDs(a.id, b.id)
	})
	out := make([]mesh.PeerID, 0, len(hs))
	for i, p := range hs {
		if i == 0 || p.id != hs[i-1].id {
			out = append(out, p.id)
		}
	}
	return out
}

func compareIDs(a, b mesh.PeerID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
