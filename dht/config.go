package dht

import (
	"fmt"
	"time"

	ds "github.com/ipfs/go-datastore"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ProtocolPrefix prefixes the DHT's protocols: /respaldo/kad/1.0.0.
const ProtocolPrefix = "/respaldo"

// Mode is the DHT mode of a node.
type Mode int

const (
	// ModeServer: answers queries and stores records (storage nodes).
	ModeServer Mode = iota + 1
	// ModeClient: queries only (laptops). Its own puts are still kept
	// locally.
	ModeClient
)

// Config configures New. Start from DefaultConfig, edit, Validate (New
// calls it too).
type Config struct {
	// Mode is ModeServer on storing nodes, ModeClient on laptops. kad-dht's
	// automatic mode never serves on loopback or a LAN, so it is not offered.
	Mode Mode
	// Datastore keeps the value and provider records; pass a KVDatastore
	// over the node's badger records to keep them across restarts. nil:
	// in memory, lost on restart. The caller closes it, after the host.
	Datastore ds.Batching
	// Members, when set, keeps non-members out of the routing table and the
	// queries, and resets their DHT streams (guests of a join window).
	Members func(peer.ID) bool
	// MaxRecordAge: a stored head older than this (since it was last put)
	// is dropped; holders Republish well within it. 0 disables expiry.
	MaxRecordAge time.Duration
	// Quorum is how many answers GetHead waits for beyond the first (see
	// kad-dht's Quorum); SearchHead waits for all.
	Quorum int
	// Timeout bounds every blocking call unless its ctx ends earlier.
	Timeout time.Duration
}

// DefaultConfig returns the defaults of a storage node with records in
// memory.
func DefaultConfig() Config {
	return Config{
		Mode:         ModeServer,
		MaxRecordAge: 48 * time.Hour,
		Quorum:       3,
		Timeout:      30 * time.Second,
	}
}

// Validate reports the first problem, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	bad := func(f string, a ...any) error {
		return fmt.Errorf("%w: dht: %s", ErrInvalidConfig, fmt.Sprintf(f, a...))
	}
	switch {
	case c.Mode != ModeServer && c.Mode != ModeClient:
		return bad("mode %d", c.Mode)
	case c.MaxRecordAge < 0:
		return bad("negative MaxRecordAge")
	case c.Quorum < 0:
		return bad("negative Quorum")
	case c.Timeout <= 0:
		return bad("Timeout must be positive")
	}
	return nil
}
