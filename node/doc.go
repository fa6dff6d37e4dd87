// Package node is the respaldo daemon: it wires the libp2p host, the DHT,
// the shard store, the shard protocol, heartbeats, the repair loop, the
// scheduler and the local API. So far it holds the process-wide settings
// that every respaldo process applies (the memory limit); the daemon itself
// arrives with the mesh.
package node
