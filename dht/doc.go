// Package dht owns a node's place in the mesh's network: the libp2p host
// (transports, security, NAT traversal, relays), the connection gater of a
// closed mesh, and the kad-dht instance that keeps the members' head
// records and the provider records, with a persistent record store. See
// docs/network.md for the choices and the record format.
//
// # Host
//
//	NewHost(ctx, HostConfig) (host.Host, error)
//
// TCP and QUIC v1, Noise and TLS, yamux, the resource manager (with a
// per-subnet allowance for members behind one NAT), the connection
// manager, AutoNAT, the relay v2 transport, hole punching, optional NAT
// port mapping, relay service (data-centre nodes) and AutoRelay.
//
// # Gating
//
// AllowList is the ConnectionGater: members only, both ways, on every
// transport; during OpenJoinWindow unknown peers may dial in as guests.
// RequireMember wraps every stream handler but the join protocol's; Expel
// drops a revoked peer's connections; Sweep drops everyone no longer
// allowed (guests after a window, peers revoked by a roster change).
//
// # DHT
//
//	New(h, Config) (*DHT, error)
//	(*DHT).Bootstrap(ctx, []peer.AddrInfo) (int, error)
//	(*DHT).PutHead / GetHead / SearchHead / StoredHeads / Republish
//	(*DHT).Provide / FindProviders
//
// The DHT speaks /respaldo/kad/1.0.0, in server mode on storing nodes and
// client mode on laptops, and accepts values only under /respaldo/: signed
// HeadRecords under the HeadKey of their verifier (HeadValidator; the
// highest sequence number wins). Records live in Config.Datastore: a
// KVDatastore over the node's badger records keeps them across restarts,
// NewMemDatastore is for tests.
//
// # Errors
//
// Errors are sentinels (ErrInvalidConfig, ErrBadRecord, ErrKeyMismatch,
// ErrNotFound, ErrNoBootstrapPeers) or wrap one of them, or wrap
// crypto.ErrBadSignature; test with errors.Is.
//
// Of respaldo's packages this one imports only crypto.
package dht
