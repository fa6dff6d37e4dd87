package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"respaldo/node/api"
	"respaldo/node/roster"
)

// Backups that happen by themselves (docs/daemon.md, "Schedules"): Run
// starts runSchedules, which makes each Config.Schedules backup when it is
// due — Interval after the start of its last successful run, at once for a
// schedule that never ran — through the same code as the API's backup, one
// at a time. A due backup waits until the node has a member and enough
// storage peers are live for its k+m (a laptop backs up when it is online),
// checking again every few heartbeats; a failed one is tried again after
// 1 min, doubling up to the interval. What each schedule last did is kept
// in the node's records under "schedule/<name>", so a restart neither runs
// a backup again at once nor forgets a failure.

// scheduleRetryMin is the first wait after a failed scheduled backup.
const scheduleRetryMin = time.Minute

// scheduleRecord is what the node keeps of one schedule, JSON under
// scheduleKey(name) in its records.
type scheduleRecord struct {
	V           int       `json:"v"`
	LastRun     time.Time `json:"last_run,omitzero"`     // start of the last attempt
	LastSuccess time.Time `json:"last_success,omitzero"` // start of the last successful run
	Snapshot    string    `json:"snapshot,omitempty"`    // made by the last successful run
	Error       string    `json:"error,omitempty"`       // of the last attempt; "" if it succeeded
	Failures    int       `json:"failures,omitempty"`    // attempts failed since the last success
	Running     bool      `json:"running,omitempty"`     // an attempt started and has not ended
}

const scheduleRecordVersion = 1

func scheduleKey(name string) []byte { return []byte("schedule/" + name) }

// ScheduleState is one schedule as status shows it.
type ScheduleState struct {
	Name     string
	Interval time.Duration
	// LastRun is when the last attempt started, LastSuccess when the last
	// successful one did (zero: never).
	LastRun     time.Time
	LastSuccess time.Time
	// LastSnapshot is the snapshot the last successful run made.
	LastSnapshot string
	// LastError is why the last attempt failed ("" if it succeeded);
	// Failures counts the attempts failed since the last success.
	LastError string
	Failures  int
	// NextDue is when the next run is due (now or earlier: due now).
	NextDue time.Time
	Running bool
	// Waiting says why a due schedule does not run yet (no member, too
	// few storage peers live).
	Waiting string
}

// scheduleBackoff is the wait after the failures-th failed attempt in a
// row: 1 min, doubling, at most interval.
func scheduleBackoff(failures int, interval time.Duration) time.Duration {
	if failures <= 0 {
		return 0
	}
	d := scheduleRetryMin
	for range min(failures-1, 32) {
		if d >= interval {
			break
		}
		d *= 2
	}
	return min(d, interval)
}

// scheduleDue is when a schedule of interval whose record is r is next
// due, seen at now: interval after its last successful start, and after a
// failed attempt not before the backoff has passed since it. A schedule
// that never ran is due now. Times after now (the clock was set back) are
// ignored, so such a schedule runs rather than waiting for the clock to
// catch up.
func scheduleDue(interval time.Duration, r scheduleRecord, now time.Time) time.Time {
	var due time.Time // zero: due since ever
	if !r.LastSuccess.IsZero() && !r.LastSuccess.After(now) {
		due = r.LastSuccess.Add(interval)
	}
	if r.Failures > 0 && !r.LastRun.IsZero() && !r.LastRun.After(now) {
		if retry := r.LastRun.Add(scheduleBackoff(r.Failures, interval)); retry.After(due) {
			due = retry
		}
	}
	if due.IsZero() {
		return now
	}
	return due
}

// loadSchedule reads a schedule's record; absent or unreadable, the zero
// record (the schedule runs as if new).
func (n *Node) loadSchedule(ctx context.Context, name string) scheduleRecord {
	var r scheduleRecord
	b, err := n.store.Records().Get(ctx, scheduleKey(name))
	if err != nil {
		return r
	}
	if err := json.Unmarshal(b, &r); err != nil {
		n.log.Warn("schedule record unreadable; the schedule starts afresh", "schedule", name, "err", err)
		return scheduleRecord{}
	}
	return r
}

// saveSchedule writes a schedule's record, even while ctx ends (the node
// closes only after Run returns, so the store is open).
func (n *Node) saveSchedule(ctx context.Context, name string, r scheduleRecord) {
	r.V = scheduleRecordVersion
	b, err := json.Marshal(r)
	if err == nil {
		err = n.store.Records().Put(context.WithoutCancel(ctx), scheduleKey(name), b)
	}
	if err != nil {
		n.log.Warn("schedule record not saved", "schedule", name, "err", err)
	}
}

// schedulePeers returns how many storage peers are live and how many a
// scheduled backup waits for: k+m, or every other storage node of the
// roster when the mesh has fewer (a small mesh places several shards on
// one node; placement.md), and at least one.
func (n *Node) schedulePeers() (live, need int) {
	p, err := n.ecParams()
	if err != nil {
		return 0, 1
	}
	var storage int
	for _, c := range n.candidates() {
		if c.Role == roster.RoleStorage && string(c.ID) != n.self.String() {
			storage++
		}
	}
	return n.storagePeersLive(), max(1, min(p.K+p.M, storage))
}

// scheduleWait says why a due scheduled backup cannot start now, "" when
// it can.
func (n *Node) scheduleWait() string {
	if _, err := n.writeKeys(); errors.Is(err, api.ErrForbidden) {
		return "this node belongs to no member"
	}
	if live, need := n.schedulePeers(); live < need {
		return fmt.Sprintf("%d of the %d storage peers needed are reachable", live, need)
	}
	return ""
}

// scheduleCheckEvery is how often runSchedules looks again while a due
// backup waits: every three heartbeats (the peer table's live window).
func (n *Node) scheduleCheckEvery() time.Duration { return 3 * n.cfg.Heartbeat }

// runSchedules makes the scheduled backups until ctx ends. Run starts it.
func (n *Node) runSchedules(ctx context.Context) {
	if len(n.cfg.Schedules) == 0 {
		return
	}
	l := &scheduleLoop{n: n, recs: map[string]scheduleRecord{}, notBefore: map[string]time.Time{}}
	for _, s := range n.cfg.Schedules {
		r := n.loadSchedule(ctx, s.Name)
		if r.Running { // the node stopped during that backup
			r.Running, r.Error = false, "interrupted: the node stopped during the backup"
			n.saveSchedule(ctx, s.Name, r)
		}
		l.recs[s.Name] = r
		n.log.Info("backup schedule", "schedule", s.Name, "paths", s.Paths, "interval", s.Interval,
			"next_due", scheduleDue(s.Interval, r, n.now()).Format(time.RFC3339))
	}
	// The first look comes after a few heartbeats, once the peer table
	// has heard from the peers that are up.
	t := time.NewTimer(n.scheduleCheckEvery())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(l.round(ctx))
	}
}

// scheduleLoop is runSchedules' state. The records it holds are the
// truth; the stored ones follow them (a store that fails to write does not
// make a backup run again at once).
type scheduleLoop struct {
	n         *Node
	recs      map[string]scheduleRecord
	notBefore map[string]time.Time // after a conflict with another backup
	waiting   string               // the wait last logged
}

// round runs the due backups, most overdue first, while they can run, and
// returns when to look again.
func (l *scheduleLoop) round(ctx context.Context) time.Duration {
	n, every := l.n, l.n.scheduleCheckEvery()
	for ctx.Err() == nil {
		now := n.now()
		next := every
		var pick *Schedule
		var pickDue time.Time
		for i := range n.cfg.Schedules {
			s := &n.cfg.Schedules[i]
			due := scheduleDue(s.Interval, l.recs[s.Name], now)
			if nb := l.notBefore[s.Name]; nb.After(due) {
				due = nb
			}
			if due.After(now) {
				next = min(next, due.Sub(now))
			} else if pick == nil || due.Before(pickDue) {
				pick, pickDue = s, due
			}
		}
		if pick == nil {
			return max(next, time.Millisecond)
		}
		if why := n.scheduleWait(); why != "" {
			if why != l.waiting {
				n.log.Info("scheduled backup waiting", "schedule", pick.Name, "why", why)
				l.waiting = why
			}
			return every
		}
		l.waiting = ""
		l.run(ctx, pick)
	}
	return every
}

// run makes one scheduled backup and records how it went.
func (l *scheduleLoop) run(ctx context.Context, s *Schedule) {
	n := l.n
	start := n.now()
	r := l.recs[s.Name]
	r.LastRun, r.Running = start, true
	n.saveSchedule(ctx, s.Name, r)
	n.log.Info("scheduled backup starting", "schedule", s.Name, "paths", s.Paths)
	res, err := (&backend{n: n}).Backup(ctx, api.BackupRequest{Paths: s.Paths, Excludes: s.Excludes, Tags: s.Tags}, nil)
	r.Running = false
	switch {
	case err == nil:
		r.LastSuccess, r.Snapshot, r.Error, r.Failures = start, res.SnapshotID, "", 0
		args := []any{"schedule", s.Name, "snapshot", res.SnapshotID, "files", res.Files, "bytes", res.Bytes,
			"new_bytes", res.NewBytes, "duration", time.Duration(res.Duration * float64(time.Second)).Round(time.Millisecond),
			"tolerates_losses", res.ToleratesLosses, "next_due", start.Add(s.Interval).Format(time.RFC3339)}
		if len(res.Skipped) > 0 {
			args = append(args, "skipped", len(res.Skipped), "first_skipped", res.Skipped[0].Path+": "+res.Skipped[0].Error)
		}
		n.log.Info("scheduled backup done", args...)
	case ctx.Err() != nil:
		// The node is stopping: not a failure; the backup resumes
		// (what was placed is not sent again) when it is due next.
		r.Error = "interrupted: the node stopped during the backup"
		n.log.Info("scheduled backup interrupted", "schedule", s.Name)
	case errors.Is(err, api.ErrConflict):
		// Another backup (one through the API) is running: not a failure.
		r = l.recs[s.Name]
		l.notBefore[s.Name] = n.now().Add(n.scheduleCheckEvery())
		n.log.Info("scheduled backup deferred: another backup is running", "schedule", s.Name)
	default:
		r.Error, r.Failures = oneLine(err.Error()), r.Failures+1
		retry := scheduleBackoff(r.Failures, s.Interval)
		n.log.Warn("scheduled backup failed", "schedule", s.Name, "err", err, "failures", r.Failures, "retry_in", retry)
	}
	l.recs[s.Name] = r
	n.saveSchedule(ctx, s.Name, r)
	if err == nil {
		if rerr := n.applyRetention(ctx, *s); rerr != nil && ctx.Err() == nil {
			n.log.Warn("retention after a scheduled backup", "schedule", s.Name, "err", rerr)
		}
	}
}

// oneLine keeps an error for status: its first line, at most 500 bytes.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}

// Schedules returns the state of the node's backup schedules, in the
// config's order.
func (n *Node) Schedules() []ScheduleState {
	ctx := n.life
	now := n.now()
	busy := n.member.busy.Load()
	out := make([]ScheduleState, 0, len(n.cfg.Schedules))
	for _, s := range n.cfg.Schedules {
		r := n.loadSchedule(ctx, s.Name)
		st := ScheduleState{
			Name: s.Name, Interval: s.Interval, LastRun: r.LastRun, LastSuccess: r.LastSuccess,
			LastSnapshot: r.Snapshot, LastError: r.Error, Failures: r.Failures,
			NextDue: scheduleDue(s.Interval, r, now), Running: r.Running && busy,
		}
		if !st.Running && !st.NextDue.After(now) {
			st.Waiting = n.scheduleWait()
		}
		out = append(out, st)
	}
	return out
}
