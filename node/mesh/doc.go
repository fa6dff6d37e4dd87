// Package mesh owns what a node knows of its peers' health: the heartbeat
// record each node publishes every few seconds (Heartbeat, with a strict
// decoder for outside bytes) and the peer table (Table) that turns
// heartbeats and other evidence of life into liveness, observed
// availability and free space.
//
// The package is pure: no network, no disk, no clock and no goroutines.
// Time enters only as a `now time.Time` argument, so tests drive it with a
// fake clock. Signing and publishing heartbeats (gossipsub, peer keys)
// happen in package node; here is only the record and the bookkeeping.
//
// Trust: a heartbeat is a peer's own claim. Its zone is informational only;
// the zone and role that count come from the roster (Table.SetMembers), and
// a peer absent from the roster is never live. Availability is observed by
// this node (when it heard from the peer), never claimed. Free space is
// claimed, which is why placement caps what a large claim can attract.
package mesh
