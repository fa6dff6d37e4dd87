// Package repair is the repair planner: a pure function from what one
// holder knows of a stripe (its geometry, who is believed to hold each
// shard index and in what state, the peer table) to what should be done
// about it. No network, no disk, no clock, no goroutines: time comes in as
// Input.Now, and the daemon's repair loop carries the plan out.
//
// PlanStripe classifies the stripe (Health: healthy, degraded, at risk,
// lost; underplaced; how many peer losses it tolerates; surplus copies,
// each index counted once), decides which shard indexes are missing (a
// holder unseen longer than the grace, revoked, or whose copy failed its
// audit; every absent one at once when the stripe is down to exactly k),
// picks the k sources to fetch, places the rebuilt shards with
// placement.Fill around the holders that stay, spreads an underplaced
// stripe out when peers allow it, names the surplus copies to drop, and
// says which live holder leads the repair now (rendezvous order over the
// live holders, one turn of Input.LeaderTimeout each). Queue and Compare
// order stripes for the loop, most endangered first.
//
// The rules and what the daemon loop does with a plan are in
// docs/repair.md.
package repair
