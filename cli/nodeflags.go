package cli

import (
	"time"

	"github.com/spf13/pflag"

	"respaldo/node"
)

// nodeFlags are the node flags of CLI.md, on `mesh create`, `join` and
// `node`. Only flags given on the command line change the config.
type nodeFlags struct {
	fs              *pflag.FlagSet
	listen          []string
	api             string
	ec              string
	repairGrace     time.Duration
	heartbeat       time.Duration
	keepRecoveryKey bool
}

func (f *nodeFlags) register(fs *pflag.FlagSet) {
	d := node.DefaultConfig()
	f.fs = fs
	fs.StringArrayVar(&f.listen, "listen", d.Listen, "multiaddr to listen on (repeatable)")
	fs.StringVar(&f.api, "api", d.API, "host:port of the local API, loopback only (port 0 picks one)")
	fs.StringVar(&f.ec, "ec", d.EC, "erasure coding k+m of new stripes")
	fs.DurationVar(&f.repairGrace, "repair-grace", d.RepairGrace, "how long a storage node may be unseen before its shards are rebuilt")
	fs.DurationVar(&f.heartbeat, "heartbeat", d.Heartbeat, "period of heartbeats")
	fs.BoolVar(&f.keepRecoveryKey, "keep-recovery-key", false, "keep the full member key on this node (unattended servers)")
}

// apply copies the flags the user gave into cfg.
func (f *nodeFlags) apply(cfg *node.Config) {
	if f.fs.Changed("listen") {
		cfg.Listen = f.listen
	}
	if f.fs.Changed("api") {
		cfg.API = f.api
	}
	if f.fs.Changed("ec") {
		cfg.EC = f.ec
	}
	if f.fs.Changed("repair-grace") {
		cfg.RepairGrace = f.repairGrace
	}
	if f.fs.Changed("heartbeat") {
		cfg.Heartbeat = f.heartbeat
	}
	if f.fs.Changed("keep-recovery-key") {
		cfg.KeepRecoveryKey = f.keepRecoveryKey
	}
}
