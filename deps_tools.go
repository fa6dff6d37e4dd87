//go:build tools

// Package respaldo pins the modules that the packages below use, so that
// parallel work never has to edit go.mod. Removed once every import is real.
package respaldo

import (
	_ "filippo.io/age"
	_ "github.com/PlakarKorp/go-cdc-chunkers"
	_ "github.com/dgraph-io/badger/v4"
	_ "github.com/fxamacker/cbor/v2"
	_ "github.com/ipfs/go-cid"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/klauspost/reedsolomon"
	_ "github.com/libp2p/go-libp2p"
	_ "github.com/libp2p/go-libp2p-kad-dht"
	_ "github.com/libp2p/go-libp2p-pubsub"
	_ "github.com/multiformats/go-multihash"
	_ "github.com/pelletier/go-toml/v2"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/spf13/cobra"
	_ "github.com/zeebo/blake3"
	_ "golang.org/x/crypto/hkdf"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/sys/unix"
)
