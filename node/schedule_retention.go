package node

import "context"

// applyRetention applies sched's retention policy after one of its
// backups succeeded (schedule.go calls it; an error is logged, and the
// backup still counts as done).
//
// TODO(forget): apply sched.KeepLast, sched.KeepDaily and sched.KeepWeekly
// (as respaldo forget --keep-last/--keep-daily/--keep-weekly) to this
// node's snapshots of the schedule (its Paths and Tags) once forget exists;
// all three 0 means keep everything. Pruning needs the recovery key
// (DESIGN.md, promise 8), which only a node with keep_recovery_key holds.
func (n *Node) applyRetention(ctx context.Context, sched Schedule) error {
	return nil
}
