package node

import (
	"context"
	"fmt"

	"respaldo/erasure"
)

// RepairCounts are the repair loop's totals, for the node_test package.
type RepairCounts struct {
	Passes, Rebuilt, Cancelled, PutFailures, Drops, Pushes, SurplusSeen int64
	Audits, AuditFailures, Scrubbed, ScrubBad                           int64
}

// RepairStatsOf returns n's repair totals since it opened.
func RepairStatsOf(n *Node) RepairCounts {
	s := &n.repair.stats
	return RepairCounts{
		Passes: s.passes.Load(), Rebuilt: s.rebuilt.Load(), Cancelled: s.cancelled.Load(),
		PutFailures: s.putFailures.Load(), Drops: s.drops.Load(), Pushes: s.pushes.Load(),
		SurplusSeen: s.surplusSeen.Load(), Audits: s.audits.Load(), AuditFailures: s.auditFailures.Load(),
		Scrubbed: s.scrubbed.Load(), ScrubBad: s.scrubBad.Load(),
	}
}

// RepairPlanOf plans stripe id as n sees it now (no requests), for
// failure reports.
func RepairPlanOf(n *Node, id erasure.StripeID) string {
	st, err := n.repair.load(context.Background(), id)
	if err != nil {
		return err.Error()
	}
	p, err := n.repair.replan(context.Background(), st)
	if err != nil {
		return err.Error()
	}
	n.repair.mu.Lock()
	loc := fmt.Sprint(st.located)
	n.repair.mu.Unlock()
	return fmt.Sprintf("health %+v holders %v drops %v puts %v due %v located %s map %v", p.Health, p.Holders, p.Drop, p.Put, p.Due,
		loc, n.holderMap(context.Background(), st))
}
