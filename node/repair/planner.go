package repair

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/placement"
)

// PlanStripe plans the repair of one stripe; the rules are in
// docs/repair.md. In short:
//
//   - a copy counts if its peer is live, not revoked and the copy did not
//     fail its audit; an index with such a copy is Present, and Health
//     follows from the number of Present indexes (surplus copies once);
//   - an index without one is Missing when its holders are revoked, failed
//     their audit, or have been unseen for longer than the grace (or none
//     is known); it is Waiting while a holder is unseen for no longer than
//     the grace, except that when only k indexes are Present every absent
//     one is Missing at once;
//   - a Lost stripe (fewer than k Present) gets no plan, only its Health;
//   - one holder is kept per index (Holders); the other live copies are
//     surplus, dropped by their own peers (Drop);
//   - Missing indexes get new holders from placement.Fill with the kept
//     holders pinned, among live storage peers that hold no failed or
//     revoked copy of the stripe and are not in Input.Avoid; a peer holding
//     more than ⌈(k+m)/N⌉ live shards (N: the peers Fill counts) has its
//     extra shards moved when Fill can place them;
//   - the leader is the live holder whose turn it is in rendezvous order.
//
// The result does not depend on the order of Input.Shards' copies or of
// Input.Peers. Bad input wraps ErrBadInput.
func PlanStripe(in Input) (Plan, error) {
	pl, err := newPlanner(in)
	if err != nil {
		return Plan{}, err
	}
	pl.classify()
	pl.keep()
	out := Plan{
		Health:  pl.health(),
		Shards:  pl.status,
		Holders: slices.Clone(pl.pinned),
	}
	out.WaitUntil = pl.waitUntil()
	if out.Health.State == Lost {
		out.After = verdict(slices.Clone(pl.pinned), pl.k, pl.zoneOf)
		return out, nil
	}
	out.Drop = pl.drops
	out.Put, out.After, out.Shortfall, out.Blocked = pl.place()
	if len(out.Put) > 0 {
		out.Due = true
		out.Sources, out.Spares = pl.sources()
		out.Leaders = pl.leaders()
		out.Leader, out.TurnEnds = turn(out.Leaders, in.DueSince, in.Now, pl.timeout)
		out.IsLeader = out.Leader == in.Self
	}
	return out, nil
}

// planner holds one stripe's planning state.
type planner struct {
	in      Input
	stripe  erasure.StripeID
	p       erasure.Params
	n, k    int
	grace   time.Duration
	timeout time.Duration
	zoneOf  map[mesh.PeerID]mesh.Zone
	rank    map[mesh.PeerID]int // position in the stripe's rendezvous order over every peer named

	copies [][]Copy // merged, in rank order
	kinds  [][]kind // kinds[i][j] is copies[i][j]'s kind
	status []ShardStatus
	live   int // Present indexes

	pinned []mesh.PeerID // kept holder per index
	count  map[mesh.PeerID]int
	zload  map[mesh.Zone]int
	drops  []Drop
}

// kind is what one copy counts as.
type kind int

const (
	good    kind = iota // live, not revoked, not failed
	waiting             // unseen, within the grace
	expired             // unseen, longer than the grace
	revoked
	failed
)

func newPlanner(in Input) (*planner, error) {
	p := in.Stripe.Params
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	n := p.Total()
	switch {
	case len(in.Shards) != n:
		return nil, fmt.Errorf("%w: holder view of %d shards for %s", ErrBadInput, len(in.Shards), p)
	case in.Stripe.ShardSize < 0:
		return nil, fmt.Errorf("%w: shard size %d", ErrBadInput, in.Stripe.ShardSize)
	}
	pl := &planner{
		in: in, stripe: in.Stripe.ID, p: p, n: n, k: p.K,
		grace: in.Grace, timeout: in.LeaderTimeout,
		zoneOf: make(map[mesh.PeerID]mesh.Zone, len(in.Peers)),
	}
	if pl.grace <= 0 {
		pl.grace = DefaultGrace
	}
	if pl.timeout <= 0 {
		pl.timeout = DefaultLeaderTimeout
	}
	for _, c := range in.Peers {
		if _, dup := pl.zoneOf[c.ID]; dup {
			return nil, fmt.Errorf("%w: peer %q listed twice", ErrBadInput, c.ID)
		}
		pl.zoneOf[c.ID] = c.Zone
	}
	var named []mesh.PeerID
	pl.copies = make([][]Copy, n)
	for i, cs := range in.Shards {
		merged := map[mesh.PeerID]Copy{}
		for _, c := range cs {
			if c.Peer == "" {
				return nil, fmt.Errorf("%w: shard %d: copy without a peer", ErrBadInput, i)
			}
			if o, ok := merged[c.Peer]; ok {
				c.Live = c.Live || o.Live
				if o.LastSeen.After(c.LastSeen) {
					c.LastSeen = o.LastSeen
				}
				c.Revoked = c.Revoked || o.Revoked
				c.FailedAudit = c.FailedAudit || o.FailedAudit
			}
			merged[c.Peer] = c
		}
		for id, c := range merged {
			pl.copies[i] = append(pl.copies[i], c)
			named = append(named, id)
		}
	}
	pl.rank = map[mesh.PeerID]int{}
	for r, id := range placement.RendezvousOrder(pl.stripe, named) {
		pl.rank[id] = r
	}
	for _, cs := range pl.copies {
		slices.SortFunc(cs, func(a, b Copy) int { return cmp.Compare(pl.rank[a.Peer], pl.rank[b.Peer]) })
	}
	return pl, nil
}

// kindOf judges one copy at now.
func (pl *planner) kindOf(c Copy) kind {
	switch {
	case c.Revoked:
		return revoked
	case c.FailedAudit:
		return failed
	case c.Live:
		return good
	}
	seen := c.LastSeen
	if seen.Before(pl.in.WatchingSince) {
		seen = pl.in.WatchingSince
	}
	if pl.in.Now.Sub(seen) > pl.grace {
		return expired
	}
	return waiting
}

// classify sets every index's status and counts the Present ones.
func (pl *planner) classify() {
	pl.kinds = make([][]kind, pl.n)
	pl.status = make([]ShardStatus, pl.n)
	for i, cs := range pl.copies {
		has := map[kind]bool{}
		for _, c := range cs {
			k := pl.kindOf(c)
			pl.kinds[i] = append(pl.kinds[i], k)
			has[k] = true
		}
		switch {
		case has[good]:
			pl.status[i] = Present
			pl.live++
		case has[waiting]:
			pl.status[i] = Waiting
		case has[failed]:
			pl.status[i] = MissingFailed
		case has[revoked]:
			pl.status[i] = MissingRevoked
		case has[expired]:
			pl.status[i] = MissingAbsent
		default:
			pl.status[i] = MissingNoHolder
		}
	}
	if pl.live == pl.k && pl.live < pl.n {
		// Down to exactly k: one more loss and the stripe is gone, so do not
		// wait for holders that may come back.
		for i, s := range pl.status {
			if s == Waiting {
				pl.status[i] = MissingAtK
			}
		}
	}
}

// keep chooses one holder per Present or Waiting index and lists the
// surplus copies. Indexes with a single candidate are fixed first; then,
// index by index, a multi-copy index keeps the copy on the peer holding
// the fewest shards kept so far, then in the least loaded zone, then the
// best ranked. Only facts every holder shares (the copies, the roster's
// zones, peer IDs) decide, so two holders of one index with the same view
// never drop each other's copy.
func (pl *planner) keep() {
	pl.pinned = make([]mesh.PeerID, pl.n)
	pl.count = map[mesh.PeerID]int{}
	pl.zload = map[mesh.Zone]int{}
	pin := func(i int, id mesh.PeerID) {
		pl.pinned[i] = id
		pl.count[id]++
		pl.zload[pl.zoneOf[id]]++
	}
	var multi []int
	for i, s := range pl.status {
		switch s {
		case Present:
			if g := pl.ofKind(i, good); len(g) == 1 {
				pin(i, g[0])
			} else {
				multi = append(multi, i)
			}
		case Waiting:
			pin(i, pl.ofKind(i, waiting)[0]) // the best ranked
		}
	}
	for _, i := range multi {
		g := pl.ofKind(i, good)
		best := slices.MinFunc(g, func(a, b mesh.PeerID) int {
			if c := cmp.Compare(pl.count[a], pl.count[b]); c != 0 {
				return c
			}
			if c := cmp.Compare(pl.zload[pl.zoneOf[a]], pl.zload[pl.zoneOf[b]]); c != 0 {
				return c
			}
			return cmp.Compare(pl.rank[a], pl.rank[b])
		})
		pin(i, best)
	}
	// Then even out: a multi-copy index kept on a peer holding two or more
	// kept shards more than another holder of it moves there (the best
	// ranked of those holding the fewest). Each move lowers the sum of the
	// squared counts, so this ends; afterwards no shard is moved (below)
	// onto a peer that already holds a live copy of it.
	for changed := true; changed; {
		changed = false
		for _, i := range multi {
			cur, best := pl.pinned[i], pl.pinned[i]
			for _, id := range pl.ofKind(i, good) {
				if pl.count[id] < pl.count[best] {
					best = id
				}
			}
			if pl.count[best] <= pl.count[cur]-2 {
				pl.count[cur]--
				pl.zload[pl.zoneOf[cur]]--
				pin(i, best)
				changed = true
			}
		}
	}
	for i, s := range pl.status {
		if s != Present {
			continue
		}
		for _, id := range pl.ofKind(i, good) {
			if id != pl.pinned[i] {
				pl.drops = append(pl.drops, Drop{Index: i, Peer: id, Keeper: pl.pinned[i]})
			}
		}
	}
}

// ofKind lists the peers whose copy of index i is of kind k, best ranked
// first.
func (pl *planner) ofKind(i int, k kind) []mesh.PeerID {
	var out []mesh.PeerID
	for j, c := range pl.copies[i] {
		if pl.kinds[i][j] == k {
			out = append(out, c.Peer)
		}
	}
	return out
}

// presentHolders is pinned with only the Present indexes kept.
func (pl *planner) presentHolders() []mesh.PeerID {
	hs := make([]mesh.PeerID, pl.n)
	for i, s := range pl.status {
		if s == Present {
			hs[i] = pl.pinned[i]
		}
	}
	return hs
}

func (pl *planner) health() Health {
	h := Health{Stripe: pl.stripe, Params: pl.p, State: stateOf(pl.p, pl.live), Live: pl.live, Surplus: len(pl.drops)}
	for _, s := range pl.status {
		switch {
		case s == Waiting:
			h.Waiting++
		case s.Missing():
			h.Missing++
		}
	}
	v := verdict(pl.presentHolders(), pl.k, pl.zoneOf)
	h.Underplaced, h.ToleratesLosses, h.ZoneSafe = v.Underplaced, v.ToleratesLosses, v.ZoneSafe
	if h.State == Lost {
		h.Surplus = 0 // nothing is dropped from a lost stripe
	}
	return h
}

// waitUntil: when the first Waiting index's holder runs out of grace.
func (pl *planner) waitUntil() time.Time {
	var first time.Time
	for i, s := range pl.status {
		if s != Waiting {
			continue
		}
		for j, c := range pl.copies[i] {
			if pl.kinds[i][j] != waiting {
				continue
			}
			seen := c.LastSeen
			if seen.Before(pl.in.WatchingSince) {
				seen = pl.in.WatchingSince
			}
			if t := seen.Add(pl.grace); first.IsZero() || t.Before(first) {
				first = t
			}
		}
	}
	return first
}

// candidates is the peer table as Fill should see it for this stripe: a
// peer that holds a revoked or failed copy of it, or is to be avoided, is
// made not live, so it receives nothing.
func (pl *planner) candidates() []placement.Candidate {
	barred := map[mesh.PeerID]bool{}
	for _, id := range pl.in.Avoid {
		barred[id] = true
	}
	for i, cs := range pl.copies {
		for j, c := range cs {
			if k := pl.kinds[i][j]; k == revoked || k == failed {
				barred[c.Peer] = true
			}
		}
	}
	out := slices.Clone(pl.in.Peers)
	for i := range out {
		if barred[out[i].ID] {
			out[i].Live = false
		}
	}
	return out
}

// place chooses new holders for the Missing indexes and for the shards to
// move off overloaded peers, with placement.Fill around the kept holders.
// Moves are optional: if Fill cannot place them, they are left out. When
// the Missing indexes cannot all be placed (not enough room), as many as
// fit are: the others are pinned to stand-ins that receive nothing.
func (pl *planner) place() (puts []Put, after placement.Plan, shortfall int, blocked error) {
	size := max(pl.in.Stripe.ShardSize, 1) // an empty shard still needs a holder
	cands := pl.candidates()
	pinned := slices.Clone(pl.pinned)
	missing := 0
	for _, s := range pl.status {
		if s.Missing() {
			missing++
		}
	}
	from := pl.moves(pinned, cands, size)
	if missing == 0 && len(from) == 0 {
		return nil, verdict(pinned, pl.k, pl.zoneOf), 0, nil
	}
	fill := func(pinned []mesh.PeerID, cands []placement.Candidate) (placement.Plan, error) {
		return placement.Fill(pl.stripe, pl.p, size, "", cands, pinned)
	}
	res, err := fill(pinned, cands)
	if err != nil && len(from) > 0 {
		for i, id := range from {
			pinned[i] = id
		}
		from = nil
		if missing == 0 {
			return nil, verdict(pinned, pl.k, pl.zoneOf), 0, nil
		}
		res, err = fill(pinned, cands)
	}
	// Not enough room for every Missing index: stand-ins (never live, each
	// in a zone of its own) take the highest indexes one by one until the
	// rest fit.
	stand := map[mesh.PeerID]bool{}
	for i := pl.n - 1; i >= 0 && errors.Is(err, placement.ErrNoSpace); i-- {
		if pinned[i] != "" {
			continue
		}
		id := mesh.PeerID(fmt.Sprintf("\x00stand-in %d", i))
		stand[id] = true
		pinned[i] = id
		cands = append(cands, placement.Candidate{ID: id, Zone: mesh.Zone(id)})
		shortfall++
		blocked = err
		res, err = fill(pinned, cands)
	}
	if err != nil { // no peer at all (ErrNoPeers), or no room for even one
		after := slices.Clone(pl.pinned)
		return nil, verdict(after, pl.k, pl.zoneOf), missing, err
	}
	holders := res.Holders
	for i, h := range holders {
		if stand[h] {
			holders[i] = ""
			continue
		}
		if pinned[i] == "" {
			puts = append(puts, Put{Index: i, To: h, From: from[i]})
		}
	}
	return puts, verdict(holders, pl.k, pl.zoneOf), shortfall, blocked
}

// moves unpins, in pinned, the shards of peers holding more than the
// per-peer limit Fill would use (⌈(k+m)/N⌉, N the pinned peers plus the
// eligible ones), highest indexes first, as long as they are Present
// (live, so they can be copied). It returns the peer each was taken from.
func (pl *planner) moves(pinned []mesh.PeerID, cands []placement.Candidate, size int64) map[int]mesh.PeerID {
	peers := map[mesh.PeerID]bool{}
	for _, h := range pinned {
		if h != "" {
			peers[h] = true
		}
	}
	for _, c := range cands {
		if c.Live && c.Role == mesh.RoleStorage && c.ID != "" && c.FreeBytes >= size {
			peers[c.ID] = true
		}
	}
	if len(peers) == 0 {
		return nil
	}
	limit := (pl.n + len(peers) - 1) / len(peers)
	from := map[int]mesh.PeerID{}
	left := maps.Clone(pl.count)
	for i := pl.n - 1; i >= 0; i-- {
		if h := pinned[i]; h != "" && pl.status[i] == Present && left[h] > limit {
			from[i] = h
			pinned[i] = ""
			left[h]--
		}
	}
	return from
}

// sources picks k Present indexes to fetch, one copy each: this node's
// own copies first, then data shards before parity, by index; the spares
// are every other live, good copy in the same order.
func (pl *planner) sources() (src, spare []Source) {
	type option struct {
		Source
		own bool
	}
	var opts []option
	for i, s := range pl.status {
		if s != Present {
			continue
		}
		g := pl.ofKind(i, good)
		first := pl.pinned[i]
		if slices.Contains(g, pl.in.Self) {
			first = pl.in.Self
		}
		opts = append(opts, option{Source{i, first}, first == pl.in.Self})
		for _, id := range g {
			if id != first {
				opts = append(opts, option{Source{i, id}, false})
			}
		}
	}
	byPreference := func(a, b option) int {
		if a.own != b.own {
			if a.own {
				return -1
			}
			return 1
		}
		if ad, bd := a.Index < pl.k, b.Index < pl.k; ad != bd {
			if ad {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Index, b.Index)
	}
	slices.SortStableFunc(opts, byPreference)
	taken := map[int]bool{}
	for _, o := range opts {
		if len(src) < pl.k && !taken[o.Index] {
			taken[o.Index] = true
			src = append(src, o.Source)
			continue
		}
		spare = append(spare, o.Source)
	}
	return src, spare
}

// leaders: the peers holding at least one live, good copy, in the
// stripe's rendezvous order.
func (pl *planner) leaders() []mesh.PeerID {
	var ids []mesh.PeerID
	for i := range pl.copies {
		ids = append(ids, pl.ofKind(i, good)...)
	}
	return placement.RendezvousOrder(pl.stripe, ids)
}

// turn says whose turn it is at now when repair has been due since since
// (zero or later than now: it became due now), each turn lasting timeout,
// and when that turn ends.
func turn(order []mesh.PeerID, since, now time.Time, timeout time.Duration) (mesh.PeerID, time.Time) {
	if len(order) == 0 {
		return "", time.Time{}
	}
	if since.IsZero() || since.After(now) {
		since = now
	}
	d := now.Sub(since) // saturates rather than overflows
	t := int64(d / timeout)
	return order[t%int64(len(order))], now.Add(timeout - d%timeout)
}

// verdict is placement's judgement of an assignment ("" for a missing
// shard).
func verdict(holders []mesh.PeerID, k int, zoneOf map[mesh.PeerID]mesh.Zone) placement.Plan {
	v := placement.Plan{Holders: holders}
	seen := map[mesh.PeerID]bool{}
	for _, h := range holders {
		if h != "" && seen[h] {
			v.Underplaced = true
		}
		seen[h] = true
	}
	v.ToleratesLosses = placement.ToleratesLosses(holders, k)
	v.ZoneSafe = placement.ZoneTolerance(holders, k, zoneOf) >= 1
	return v
}
