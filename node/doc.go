// Package node is the respaldo daemon. It holds the process-wide settings
// that every respaldo process applies (the memory limit) and wires one
// node together:
//
//   - Config (DIR/config.toml) and the data dir's files (identity.key,
//     operator.key, store/, member.keys): config.go, identity.go;
//   - CreateMesh, which sets up the first node of a new mesh: create.go;
//   - Node: Open (store, roster, libp2p host behind the roster's gater,
//     DHT, stream handlers, gossip), Run (heartbeats, reconnection), Close:
//     node.go;
//   - the roster sync protocol /respaldo/roster/1.0.0 and the operator's
//     AdmitPeer and RevokePeer: rostersync.go;
//   - heartbeats over gossipsub into the peer table: heartbeat.go;
//   - the address book that lets a restarted node dial the mesh again:
//     addrbook.go;
//   - Peers and Status, for `respaldo peers` and `respaldo status`:
//     status.go.
//
// The repair loop, the scheduler, the join protocol and the local API come
// next. See docs/daemon.md.
package node
