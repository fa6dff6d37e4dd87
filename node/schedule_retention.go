package node

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"respaldo/erasure"
	"respaldo/node/api"
	"respaldo/node/backup"
)

// applyRetention applies sched's retention policy after one of its
// backups succeeded (schedule.go calls it; an error is logged, and the
// backup still counts as done): among this node's snapshots of exactly the
// schedule's paths, those that keep_last, keep_daily and keep_weekly do not
// keep are forgotten (tombstones; respaldo forget). All three 0 keeps
// everything. The data goes at the next forget --prune, which needs the
// recovery key (DESIGN.md, promise 8).
func (n *Node) applyRetention(ctx context.Context, sched Schedule) error {
	pol := backup.Policy{Last: sched.KeepLast, Daily: sched.KeepDaily, Weekly: sched.KeepWeekly}
	if pol.Last == 0 && pol.Daily == 0 && pol.Weekly == 0 {
		return nil
	}
	if !n.member.busy.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: a backup or prune is running; retention is applied after the next run", api.ErrConflict)
	}
	defer n.member.busy.Store(false)
	wk, err := n.writeKeys()
	if err != nil {
		return err
	}
	blobs, err := n.blobs(nil)
	if err != nil {
		return err
	}
	w, err := backup.NewWriter(blobs, n.kv(), wk, backup.Options{Now: n.cfg.Now})
	if err != nil {
		return err
	}
	es, err := w.Snapshots(ctx)
	if err != nil {
		return err
	}
	want := cleanSorted(sched.Paths)
	mine := slices.DeleteFunc(es, func(e backup.CatalogEntry) bool { return !slices.Equal(cleanSorted(e.Paths), want) })
	_, forget, err := pol.Apply(mine)
	if err != nil || len(forget) == 0 {
		return err
	}
	ids := make([]erasure.StripeID, len(forget))
	for i, e := range forget {
		ids[i] = e.ID
	}
	head, err := w.Forget(ctx, ids)
	if err != nil {
		return err
	}
	n.log.Info("schedule: retention forgot snapshots", "schedule", sched.Name, "forgotten", len(ids))
	if _, err := n.publishHead(ctx, wk, head); err != nil {
		n.log.Warn("head not yet in the DHT; it will be put again", "err", err)
	}
	return nil
}

func cleanSorted(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = filepath.Clean(p)
	}
	slices.Sort(out)
	return out
}
