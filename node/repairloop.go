package node

import (
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/placement"
	"respaldo/node/repair"
	"respaldo/node/roster"
	"respaldo/node/shard"
	"respaldo/node/store"
)

// The daemon's repair loop (docs/repair.md, "What the daemon's repair loop
// does"). Every RepairInterval, and at once when something asks for it
// (a failed put, a failed audit, a bad shard found by scrub, a co-holder
// refused a get), it plans every stripe this node holds a shard of with
// repair.PlanStripe, orders the plans with repair.Queue, leads the repairs
// whose turn is its own (repairloop_lead.go), drops its own surplus copies,
// and keeps the counts that `respaldo status` shows. What it knows of the
// other holders comes from the holder map, the answers to locate requests
// (repairloop_verify.go), the peer table's liveness, the roster's
// revocations and its own audits (audit.go).

const (
	// DefaultRepairInterval is how often the loop plans the held stripes.
	DefaultRepairInterval = 30 * time.Second
	// DefaultRepairBandwidth bounds the shard bytes repair fetches and puts
	// (32 MiB/s): a big node's absence must not saturate every uplink.
	DefaultRepairBandwidth = 32 << 20
	// repairParallel is how many stripes this node rebuilds at once.
	repairParallel = 2
	// verifyPerPass is how many stripes that look healthy are checked
	// with locate in each pass, in turn; stripes that do not look healthy
	// are checked in every pass.
	verifyPerPass = 64
	// avoidFor is how long a peer whose put failed gets nothing of the
	// stripe.
	avoidFor = 10 * time.Minute
	// checkEvery bounds how often a co-holder's refused get makes this
	// node check a stripe (locate and audits) at once.
	checkEvery = 10 * time.Second
)

// repairState is the loop's memory: per stripe its descriptor, what the
// last locate round found, since when it is due, and the peers to avoid;
// the copies that failed an audit; the last pass's counts. It is also the
// shard handler's Authorizer (repair_auth.go). Safe for concurrent use.
type repairState struct {
	n       *Node
	kick    chan struct{}
	limiter *rate.Limiter
	stats   repairCounters

	mu      sync.Mutex
	stripes map[erasure.StripeID]*stripeState
	failed  map[copyKey]time.Time // copies that failed their last audit or check
	pushed  map[copyKey]time.Time // holder maps pushed to a peer that should drop
	report  repairReport
	cursor  int // where the next verifyPerPass round begins
}

// stripeState is what the loop remembers of one held stripe; guarded by
// repairState.mu.
type stripeState struct {
	id   erasure.StripeID
	desc *erasure.Descriptor
	// located holds what peers answered to locate: the indexes each holds
	// (an empty slice: none). Peers not in it were not asked or did not
	// answer; the holder map speaks for them.
	located  map[mesh.PeerID][]int
	verified time.Time
	dueSince time.Time
	avoid    map[mesh.PeerID]time.Time
	swept    bool      // swept wide once since this node started (a holder back from away)
	check    bool      // check (locate and audit every copy) in the next pass
	checkAt  time.Time // when a check was last asked for
}

// copyKey names one peer's copy of one shard.
type copyKey struct {
	stripe erasure.StripeID
	index  int
	peer   mesh.PeerID
}

// repairReport is what the last pass saw, for status.
type repairReport struct {
	At                                 time.Time
	Stripes                            int
	Healthy, Degraded, AtRisk, Lost    int
	Queue                              int // due plans: stripes with shards to rebuild or move
	ToleratesLosses                    int // minimum over the stripes; -1 before the first pass
	Surplus, Underplaced, Blocked, Due int
}

// repairCounters are the loop's totals since the start, for /metrics and
// the tests.
type repairCounters struct {
	passes, rebuilt, rebuiltBytes, fetched, fetchedBytes atomic.Int64
	cancelled, putFailures, drops, pushes, surplusSeen   atomic.Int64
	audits, auditFailures, scrubbed, scrubBad            atomic.Int64
}

func newRepairState(n *Node) *repairState {
	bw := n.cfg.RepairBandwidth
	if bw <= 0 {
		bw = DefaultRepairBandwidth
	}
	return &repairState{
		n: n, kick: make(chan struct{}, 1),
		limiter: rate.NewLimiter(rate.Limit(bw), int(max(bw, 1<<20))),
		stripes: map[erasure.StripeID]*stripeState{},
		failed:  map[copyKey]time.Time{},
		pushed:  map[copyKey]time.Time{},
		report:  repairReport{ToleratesLosses: -1},
	}
}

// wake asks for a pass as soon as the current one (if any) is over.
func (r *repairState) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// waitBytes takes n bytes from the repair bandwidth budget.
func (r *repairState) waitBytes(ctx context.Context, n int64) error {
	for n > 0 {
		k := min(n, int64(r.limiter.Burst()))
		if err := r.limiter.WaitN(ctx, int(k)); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (n *Node) repairInterval() time.Duration {
	if n.cfg.RepairInterval > 0 {
		return n.cfg.RepairInterval
	}
	return DefaultRepairInterval
}

// repairLoop runs the repair loop, the scrub and the audits until ctx
// ends. Run starts it.
func (n *Node) repairLoop(ctx context.Context) {
	r := n.repair
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { n.scrubLoop(ctx) })
	wg.Go(func() { n.auditLoop(ctx) })
	// A first pass once the first heartbeats are in; WatchingSince keeps
	// it from taking peers not heard from yet for gone.
	t := time.NewTimer(min(3*n.cfg.Heartbeat, n.repairInterval()))
	defer t.Stop()
	// A member that stops being live starts its holders' grace: a pass
	// then learns when it runs out (or repairs at once a stripe down to
	// k) rather than at the next regular pass, up to repair_interval later.
	watch := time.NewTicker(n.cfg.Heartbeat)
	defer watch.Stop()
	live := n.liveMembers()
	for {
		select {
		case <-ctx.Done():
			return
		case <-watch.C:
			now := n.liveMembers()
			gone := false
			for p := range live {
				if !now[p] {
					gone = true
					break
				}
			}
			live = now
			if !gone {
				continue
			}
		case <-t.C:
		case <-r.kick:
		}
		next := n.repairInterval()
		// Come back when the first holder now in its grace runs out of
		// it, if that is sooner than the next pass.
		if until := r.pass(ctx); !until.IsZero() {
			next = min(next, max(until.Sub(n.now())+time.Second, time.Second))
		}
		t.Reset(next)
	}
}

// liveMembers is the set of members the peer table counts live now.
func (n *Node) liveMembers() map[mesh.PeerID]bool {
	out := map[mesh.PeerID]bool{}
	for _, p := range n.table.Peers(n.now()) {
		if p.Live {
			out[p.ID] = true
		}
	}
	return out
}

// pass plans every held stripe, reports, and carries out this node's part.
// It returns the earliest time a waiting holder's grace runs out (zero if
// none waits).
func (r *repairState) pass(ctx context.Context) (waitUntil time.Time) {
	n := r.n
	held, err := n.heldByStripe(ctx)
	if err != nil {
		if ctx.Err() == nil {
			n.log.Warn("repair: listing held shards", "err", err)
		}
		return time.Time{}
	}
	r.stats.passes.Add(1)
	ids := slices.SortedFunc(maps.Keys(held), func(a, b erasure.StripeID) int { return compareID(a, b) })
	verify := r.rotation(ids)
	var plans []repair.Plan
	var peers []placement.Candidate
	var peersAt time.Time
	settled := n.now().Sub(n.start) >= 5*n.cfg.Heartbeat
	wide := 0 // wide sweeps in this pass, at most verifyPerPass
	for _, id := range ids {
		if ctx.Err() != nil {
			return time.Time{}
		}
		if del, err := shard.IsDeleted(ctx, n.store.Records(), id); err != nil || del {
			continue
		}
		st, err := r.load(ctx, id)
		if err != nil {
			continue // the stripe's last shard went meanwhile
		}
		now := n.now()
		if peersAt.IsZero() || now.Sub(peersAt) > time.Second || now.Before(peersAt) {
			peers, peersAt = n.repairPeers(ctx, now), now // once a second, not per stripe
		}
		hm := n.holderMap(ctx, st)
		in := r.input(st, held[id], hm, peers, now)
		r.mu.Lock()
		check := st.check
		st.check = false
		sweep := settled && !st.swept && wide < verifyPerPass
		if sweep {
			st.swept = true
			wide++
		}
		r.mu.Unlock()
		if check || sweep || verify[id] || !looksHealthy(in.Shards) {
			r.verify(ctx, st, held[id], hm, peers, check, sweep)
			now = n.now()
			peers, peersAt = n.repairPeers(ctx, now), now
			hm = n.holderMap(ctx, st)
			in = r.input(st, held[id], hm, peers, now)
		}
		p, err := r.plan(st, in)
		if err != nil {
			n.log.Warn("repair: cannot plan", "stripe", id, "err", err)
			continue
		}
		plans = append(plans, p)
		if !p.WaitUntil.IsZero() && (waitUntil.IsZero() || p.WaitUntil.Before(waitUntil)) {
			waitUntil = p.WaitUntil
		}
	}
	r.forget(held)
	work, lost := repair.Queue(plans)
	r.setReport(plans, lost)
	r.execute(ctx, work)
	return waitUntil
}

func compareID(a, b erasure.StripeID) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

// rotation picks the stripes that look healthy but get a locate round in
// this pass anyway: verifyPerPass of them, in turn.
func (r *repairState) rotation(ids []erasure.StripeID) map[erasure.StripeID]bool {
	out := map[erasure.StripeID]bool{}
	if len(ids) == 0 {
		return out
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	start := r.cursor % len(ids)
	for i := range min(verifyPerPass, len(ids)) {
		out[ids[(start+i)%len(ids)]] = true
	}
	r.cursor = start + min(verifyPerPass, len(ids))
	return out
}

// heldByStripe lists the shard indexes this node holds, by stripe.
func (n *Node) heldByStripe(ctx context.Context) (map[erasure.StripeID][]int, error) {
	out := map[erasure.StripeID][]int{}
	err := n.store.List(ctx, func(si store.ShardInfo) error {
		out[si.Ref.Stripe] = append(out[si.Ref.Stripe], si.Ref.Index)
		return nil
	})
	return out, err
}

// load returns the loop's state of a held stripe, reading its descriptor
// the first time.
func (r *repairState) load(ctx context.Context, id erasure.StripeID) (*stripeState, error) {
	r.mu.Lock()
	st := r.stripes[id]
	r.mu.Unlock()
	if st != nil {
		return st, nil
	}
	d, err := r.n.store.Descriptor(ctx, id)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if st = r.stripes[id]; st == nil {
		st = &stripeState{id: id, desc: d, located: map[mesh.PeerID][]int{}, avoid: map[mesh.PeerID]time.Time{}}
		r.stripes[id] = st
	}
	return st, nil
}

// forget drops the state of stripes no longer held, and failed-audit and
// push marks of those stripes.
func (r *repairState) forget(held map[erasure.StripeID][]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r.stripes {
		if _, ok := held[id]; !ok {
			delete(r.stripes, id)
		}
	}
	for _, m := range []map[copyKey]time.Time{r.failed, r.pushed} {
		maps.DeleteFunc(m, func(k copyKey, _ time.Time) bool { _, ok := held[k.stripe]; return !ok })
	}
}

// holderMap is the stripe's holder map, k+m entries ("" where unknown).
func (n *Node) holderMap(ctx context.Context, st *stripeState) []string {
	hm, err := shard.HolderMap(ctx, n.store.Records(), st.id)
	if err != nil || len(hm) != len(st.desc.Shards) {
		return make([]string, len(st.desc.Shards))
	}
	return hm
}

// repairPeers is the peer table as the planner takes it, with this node
// live and offering its store's free space (its own heartbeats do not
// reach its table).
func (n *Node) repairPeers(ctx context.Context, now time.Time) []placement.Candidate {
	ps := placement.FromMesh(n.table.Peers(now))
	self := mesh.PeerID(n.self.String())
	for i := range ps {
		if ps[i].ID != self {
			continue
		}
		ps[i].Live = ps[i].Role == roster.RoleStorage
		ps[i].Availability = 1
		if u, err := n.store.Usage(ctx); err == nil && ps[i].Role == roster.RoleStorage && !n.drain.active.Load() {
			ps[i].FreeBytes = min(u.FreeBytes, mesh.MaxBytes)
		}
	}
	return ps
}

// isRevoked reports a peer the roster revoked.
func (n *Node) isRevoked(p mesh.PeerID) bool {
	_, st := n.roster.Member(p, n.now())
	return st == roster.Revoked
}

// input builds the planner's input for a stripe from this node's copies
// (held), the holder map, what locate found and the peer table.
func (r *repairState) input(st *stripeState, held []int, hm []string, peers []placement.Candidate, now time.Time) repair.Input {
	n := r.n
	self := mesh.PeerID(n.self.String())
	r.mu.Lock()
	defer r.mu.Unlock()
	total := len(st.desc.Shards)
	copies := make([][]repair.Copy, total)
	add := func(i int, p mesh.PeerID) {
		ps, _ := n.table.Peer(p, now)
		copies[i] = append(copies[i], repair.Copy{
			Peer: p, Live: ps.Live, LastSeen: ps.LastSeen, Revoked: n.isRevoked(p),
			FailedAudit: !r.failed[copyKey{st.id, i, p}].IsZero(),
		})
	}
	for _, i := range held {
		if i < total {
			copies[i] = append(copies[i], repair.Copy{Peer: self, Live: true, LastSeen: now,
				FailedAudit: !r.failed[copyKey{st.id, i, self}].IsZero()})
		}
	}
	for i, h := range hm {
		p := mesh.PeerID(h)
		if p == "" || p == self {
			continue
		}
		if got, ok := st.located[p]; ok && !slices.Contains(got, i) {
			continue // it answered locate without this shard
		}
		add(i, p)
	}
	for p, idx := range st.located {
		if p == self {
			continue
		}
		for _, i := range idx {
			if i < total {
				add(i, p)
			}
		}
	}
	var avoid []mesh.PeerID
	for p, t := range st.avoid {
		if now.Sub(t) < avoidFor {
			avoid = append(avoid, p)
		}
	}
	return repair.Input{
		Stripe: repair.StripeOf(st.desc), Shards: copies, Peers: peers, Self: self, Now: now,
		Grace: n.cfg.RepairGrace, WatchingSince: n.start, DueSince: st.dueSince, Avoid: avoid,
	}
}

// looksHealthy: every index has a live copy that has not failed.
func looksHealthy(shards [][]repair.Copy) bool {
	for _, cs := range shards {
		if !slices.ContainsFunc(cs, func(c repair.Copy) bool { return c.Live && !c.Revoked && !c.FailedAudit }) {
			return false
		}
	}
	return true
}

// plan runs the planner and keeps the stripe's DueSince.
func (r *repairState) plan(st *stripeState, in repair.Input) (repair.Plan, error) {
	p, err := repair.PlanStripe(in)
	if err != nil {
		return p, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case !p.Due:
		st.dueSince = time.Time{}
	case st.dueSince.IsZero():
		st.dueSince = in.Now
	}
	return p, nil
}

// replan plans a stripe again from what the loop knows now, without asking
// anyone: the holder map, the last locate answers, the peer table.
func (r *repairState) replan(ctx context.Context, st *stripeState) (repair.Plan, error) {
	n := r.n
	var held []int
	for i := range st.desc.Shards {
		if ok, err := n.store.Has(ctx, store.ShardRef{Stripe: st.id, Index: i}); err == nil && ok {
			held = append(held, i)
		}
	}
	now := n.now()
	return repair.PlanStripe(r.input(st, held, n.holderMap(ctx, st), n.repairPeers(ctx, now), now))
}

// setReport keeps the pass's counts for status.
func (r *repairState) setReport(plans, lost []repair.Plan) {
	rep := repairReport{At: r.n.now(), Stripes: len(plans), ToleratesLosses: -1}
	for _, p := range plans {
		h := p.Health
		switch h.State {
		case repair.Healthy:
			rep.Healthy++
		case repair.Degraded:
			rep.Degraded++
		case repair.AtRisk:
			rep.AtRisk++
		case repair.Lost:
			rep.Lost++
		}
		if p.Due {
			rep.Queue++
		}
		if p.Blocked != nil {
			rep.Blocked++
		}
		if h.Underplaced {
			rep.Underplaced++
		}
		rep.Surplus += h.Surplus
		tol := max(h.ToleratesLosses, 0)
		if rep.ToleratesLosses < 0 || tol < rep.ToleratesLosses {
			rep.ToleratesLosses = tol
		}
	}
	if rep.Surplus > 0 {
		r.stats.surplusSeen.Add(int64(rep.Surplus))
	}
	for _, p := range lost {
		r.n.log.Warn("repair: stripe lost (fewer than k shards live)", "stripe", p.Health.Stripe,
			"live", p.Health.Live, "waiting", p.Health.Waiting)
	}
	r.mu.Lock()
	r.report = rep
	r.mu.Unlock()
}

// lastReport returns what the last pass saw.
func (r *repairState) lastReport() repairReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.report
}

// execute carries out this node's part of the plans with work, most
// endangered first: its own drops (and telling a peer that should drop),
// and the repairs it leads, repairParallel stripes at a time.
func (r *repairState) execute(ctx context.Context, work []repair.Plan) {
	self := mesh.PeerID(r.n.self.String())
	sem := make(chan struct{}, repairParallel)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, p := range work {
		for _, d := range p.Drop {
			switch {
			case d.Peer == self:
				r.drop(ctx, p, d)
			case d.Keeper == self && !r.n.drain.active.Load(): // a draining node keeps nothing
				r.tellDropper(ctx, p, d)
			}
		}
		if !p.Due || !p.IsLeader {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			r.lead(ctx, p)
		})
	}
}
