//go:build tools

// This file only pins modules that the daemon's next pieces use (gossip
// heartbeats, the TOML config, CLI script tests), so go.mod keeps them at
// the versions chosen; each line goes when a real import takes its place.
package node

import (
	_ "github.com/libp2p/go-libp2p-pubsub"
	_ "github.com/pelletier/go-toml/v2"
	_ "github.com/rogpeppe/go-internal/testscript"
)
