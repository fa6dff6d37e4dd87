// Package placement chooses the holders of a stripe's shards: a pure
// function of the stripe ID, its geometry, the shard size, the member's own
// node and the candidate peers (built by the caller from the mesh table and
// the roster). No network, no disk, no clock, no goroutines.
//
// Place spreads k+m shards over distinct live storage peers (never the
// member's own node), at most m per zone, weighted by free space (capped at
// twice the median, so a node claiming a petabyte does not collect a shard
// of everything) and by observed availability, and otherwise by weighted
// rendezvous hashing, so the same stripe maps to the same peers and a peer
// joining or leaving moves only the shards it gains or loses. With fewer
// than k+m eligible peers it puts at most ⌈(k+m)/N⌉ shards on each, marks
// the plan Underplaced and says how many peer losses the stripe survives.
// Fill does the same around shards already placed (repair);
// RendezvousOrder is the order readers probe; ToleratesLosses and
// ZoneTolerance judge any assignment.
//
// The rules, the weight function, the hash and what a lying node can and
// cannot achieve are in docs/placement.md.
package placement
