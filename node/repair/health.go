package repair

import (
	"fmt"

	"respaldo/erasure"
)

// State classifies a stripe by its distinct shard indexes held live by a
// peer whose copy has not failed (a surplus copy counts once), as the
// member's check does (node.StripeHealth).
type State int

const (
	Healthy  State = iota // all k+m shards live
	Degraded              // more than k live, fewer than k+m
	AtRisk                // exactly k live: one more loss and it is lost
	Lost                  // fewer than k live: cannot be rebuilt now
)

func (s State) String() string {
	switch s {
	case Healthy:
		return "healthy"
	case Degraded:
		return "degraded"
	case AtRisk:
		return "at_risk"
	case Lost:
		return "lost"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// stateOf classifies live distinct shards of a k+m stripe.
func stateOf(p erasure.Params, live int) State {
	switch {
	case live >= p.Total():
		return Healthy
	case live > p.K:
		return Degraded
	case live == p.K:
		return AtRisk
	}
	return Lost
}

// ShardStatus is what the planner made of one shard index.
type ShardStatus int

const (
	// Present: at least one live peer holds it and its copy has not failed.
	Present ShardStatus = iota
	// Waiting: no live copy, but a holder unseen for no longer than the
	// grace may come back with it; not rebuilt yet (the stripe has more
	// than k live shards).
	Waiting
	// MissingNoHolder: nobody is known to hold it.
	MissingNoHolder
	// MissingAbsent: every holder has been unseen for longer than the grace.
	MissingAbsent
	// MissingRevoked: its holders are revoked (and no other copy is live
	// or waiting).
	MissingRevoked
	// MissingFailed: its copies failed their audit (and no other copy is
	// live or waiting).
	MissingFailed
	// MissingAtK: its holders are within the grace, but the stripe is down
	// to exactly k live shards, so it is rebuilt at once.
	MissingAtK
)

// Missing reports whether the index is to be rebuilt.
func (s ShardStatus) Missing() bool { return s >= MissingNoHolder }

func (s ShardStatus) String() string {
	switch s {
	case Present:
		return "present"
	case Waiting:
		return "waiting"
	case MissingNoHolder:
		return "missing: no holder known"
	case MissingAbsent:
		return "missing: holder unseen longer than the grace"
	case MissingRevoked:
		return "missing: holder revoked"
	case MissingFailed:
		return "missing: copy failed its audit"
	case MissingAtK:
		return "missing: stripe down to k"
	}
	return fmt.Sprintf("ShardStatus(%d)", int(s))
}

// Health is a stripe's state as the planner sees it now, before the plan
// is carried out.
type Health struct {
	Stripe erasure.StripeID
	Params erasure.Params
	State  State
	// Live counts the Present indexes, Waiting the Waiting ones, Missing
	// those to rebuild; Live+Waiting+Missing = k+m.
	Live, Waiting, Missing int
	// Surplus counts the live, good copies beyond one per index (a peer
	// that came back after its shards were rebuilt elsewhere); they are in
	// Plan.Drop and never counted in Live.
	Surplus int
	// Underplaced: a peer holds more than one of the live shards (with one
	// holder kept per index, as Plan.Holders).
	Underplaced bool
	// ToleratesLosses is placement.ToleratesLosses over the kept live
	// holders: how many of them may vanish, whichever they are, with the
	// stripe still readable; -1 when Lost.
	ToleratesLosses int
	// ZoneSafe: a whole zone may vanish with the stripe still readable
	// (placement.ZoneTolerance over the kept live holders >= 1).
	ZoneSafe bool
}

// Margin is how many live shards the stripe has above k; negative when
// Lost. The loop repairs the smallest margins first.
func (h Health) Margin() int { return h.Live - h.Params.K }
