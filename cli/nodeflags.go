package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"respaldo/node"
	"respaldo/node/meshblobs"
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
	limitUpload     rateFlag
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
	fs.Var(&f.limitUpload, "limit-upload", "cap on the shard bytes this node sends when backing up, e.g. 2MiB/s or 500KiB (0: none)")
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
	if f.fs.Changed("limit-upload") {
		cfg.LimitUpload = int64(f.limitUpload)
	}
}

// rateFlag is a --limit-upload value: bytes per second, given as
// node.ParseRate reads it ("2MiB/s", "500KiB", "10MB", "1048576").
type rateFlag int64

func (r *rateFlag) Set(s string) error {
	v, err := node.ParseRate(s)
	if err != nil {
		return err
	}
	if v > 0 && v < meshblobs.MinUploadLimit {
		return fmt.Errorf("%s is below the least upload limit, 128KiB/s (holders cut off slower uploads)", s)
	}
	*r = rateFlag(v)
	return nil
}

func (r *rateFlag) String() string {
	if *r == 0 {
		return "0"
	}
	return strconv.FormatInt(int64(*r), 10) + "B/s"
}

func (r *rateFlag) Type() string { return "RATE" }
