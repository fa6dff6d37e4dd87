package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"respaldo/crypto"
	"respaldo/erasure"
	"respaldo/node/api"
	"respaldo/scripts/gendata"
)

type demoOptions struct {
	nodes   int
	source  string
	size    string
	ec      string
	seed    uint64
	keep    bool
	asJSON  bool
	cpuProf string
}

// demoReport is what `demo --json` prints.
type demoReport struct {
	Source          string   `json:"source"`
	Files           int64    `json:"files"`
	Bytes           int64    `json:"bytes"`
	StoredBytes     int64    `json:"stored_bytes"`
	ShardBytes      int64    `json:"shard_bytes"`
	BackupSeconds   float64  `json:"backup_s"`
	BackupMBps      float64  `json:"backup_mb_per_s"`
	RebackupSeconds float64  `json:"rebackup_s"`
	RebackupBytes   int64    `json:"rebackup_stored_bytes"`
	Nodes           int      `json:"nodes"`
	EC              string   `json:"ec"`
	Lost            []int    `json:"lost_nodes"`
	RestoreSeconds  float64  `json:"restore_s"`
	RestoreMBps     float64  `json:"restore_mb_per_s"`
	Identical       bool     `json:"identical"`
	Differences     []string `json:"differences,omitempty"`
}

func newDemoCommand(g *globals) *cobra.Command {
	o := demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Back up, lose nodes, restore and verify, all on this machine",
		Long: `demo runs respaldo's whole pipeline on this machine in a temporary folder:
it creates a mesh of real nodes on 127.0.0.1 — the member's node and --nodes
storage nodes in three zones, each with its own data folder, libp2p host, store
and DHT, joined by invites — all in this process. It backs up a generated sample
folder (or --source DIR) through the member's node, which spreads every stripe's
k+m shards over the storage nodes; backs up again to show that unchanged data is
not stored twice; stops as many storage nodes as the stripes tolerate and deletes
their disks, as if their machines had been seized; restores with the recovery
key; and compares the result with the original byte for byte (contents, modes,
mtimes, symlinks).

Nothing outside the temporary folder is written, nothing is sent beyond
127.0.0.1, and the folder is removed at the end unless --keep is given.`,
		Example: `  respaldo demo
  respaldo demo --source ~/Documents --nodes 8
  respaldo demo --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.nodes, "nodes", 6, "number of storage nodes (shard stores)")
	f.StringVar(&o.source, "source", "", "back up this folder instead of a generated sample")
	f.StringVar(&o.size, "size", "48MiB", "size of the generated sample folder")
	f.StringVar(&o.ec, "ec", "4+2", "erasure coding: k data + m parity shards per stripe")
	f.Uint64Var(&o.seed, "seed", 0, "seed choosing the sample and the lost nodes (0: random, printed)")
	f.BoolVar(&o.keep, "keep", false, "keep the temporary folder for inspection")
	f.BoolVar(&o.asJSON, "json", false, "print the report as JSON")
	f.StringVar(&o.cpuProf, "cpuprofile", "", "write a CPU profile of the backup and restore to this file (go tool pprof)")
	return cmd
}

func runDemo(ctx context.Context, g *globals, o demoOptions) error {
	p, err := erasure.ParseParams(o.ec)
	if err != nil {
		return err
	}
	if o.nodes < 1 {
		return fmt.Errorf("--nodes must be at least 1")
	}
	if o.seed == 0 {
		o.seed = rand.Uint64()%1_000_000 + 1
	}
	size, err := parseSize(o.size)
	if err != nil {
		return err
	}
	say := func(format string, args ...any) {
		if !o.asJSON {
			fmt.Fprintf(g.stdout, format+"\n", args...)
		}
	}
	tmp, err := os.MkdirTemp("", "respaldo-demo-")
	if err != nil {
		return err
	}
	if o.keep {
		defer say("kept %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	rep := demoReport{Nodes: o.nodes, EC: p.String()}
	source := o.source
	if source == "" {
		source = filepath.Join(tmp, "sample")
		st, err := gendata.Generate(source, size, o.seed, gendata.DefaultMix)
		if err != nil {
			return fmt.Errorf("making the sample folder: %w", err)
		}
		say("sample folder: %d files, %d symlinks, %s (seed %d)", st.Files, st.Symlinks, humanBytes(st.Bytes), o.seed)
	} else if source, err = filepath.Abs(source); err != nil {
		return err
	}
	rep.Source = source

	say("starting a mesh on 127.0.0.1: the member's node and %d storage nodes in %d zones, joined by invites",
		o.nodes, min(o.nodes, len(demoZones)))
	m, err := startDemoMesh(ctx, filepath.Join(tmp, "mesh"), o.nodes, p.String(), slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer m.close()
	member := m.nodes[0].APIBackend()
	say("mesh: %d storage nodes live; each stripe coded %s (any %d shards rebuild it)", o.nodes, p, p.K)

	if o.cpuProf != "" {
		f, err := os.Create(o.cpuProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	prog := newBackupProgress(g.stderr, false)
	res, err := member.Backup(ctx, api.BackupRequest{Paths: []string{source}}, prog.updateAPI)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	dur := time.Duration(res.Duration * float64(time.Second))
	rep.Files, rep.Bytes = res.Files, res.Bytes
	rep.BackupSeconds, rep.BackupMBps = res.Duration, mbps(res.Bytes, dur)
	for _, n := range m.nodes[1:] {
		u, err := n.Store().Usage(ctx)
		if err != nil {
			return err
		}
		rep.ShardBytes += u.UsedBytes
	}
	rep.StoredBytes = rep.ShardBytes * int64(p.K) / int64(p.Total())
	say("backup: %d files, %s in %.1fs (%.0f MB/s); %s of shards on the storage nodes",
		res.Files, humanBytes(res.Bytes), rep.BackupSeconds, rep.BackupMBps, humanBytes(rep.ShardBytes))
	say("        snapshot %s, survives the loss of any %d storage nodes", res.SnapshotID[:12], res.ToleratesLosses)

	before := rep.ShardBytes
	again, err := member.Backup(ctx, api.BackupRequest{Paths: []string{source}}, nil)
	if err != nil {
		return fmt.Errorf("second backup: %w", err)
	}
	var after int64
	for _, n := range m.nodes[1:] {
		u, err := n.Store().Usage(ctx)
		if err != nil {
			return err
		}
		after += u.UsedBytes
	}
	rep.RebackupSeconds = again.Duration
	rep.RebackupBytes = (after - before) * int64(p.K) / int64(p.Total())
	say("backup again, nothing changed: %.1fs, %s more on the nodes (only the snapshot and catalog)",
		rep.RebackupSeconds, humanBytes(after-before))

	// Lose as many storage nodes as the stripes tolerate, chosen by the seed.
	rng := rand.New(rand.NewPCG(o.seed, 7))
	lose := min(res.ToleratesLosses, again.ToleratesLosses)
	perm := rng.Perm(o.nodes)[:lose]
	sort.Ints(perm)
	for i, x := range perm {
		perm[i] = x + 1 // storage nodes are 1..n
		if err := m.lose(x + 1); err != nil {
			return err
		}
	}
	rep.Lost = perm
	if lose == 0 {
		say("lost no node: with %d storage nodes at %s a stripe survives no node loss", o.nodes, p)
	} else {
		say("lost for good: storage nodes %v (stopped, their disks deleted)", perm)
	}

	// Restore with the recovery key, typed back in as a member would.
	rk, err := crypto.ParseRecoveryKey(m.rk.Reveal())
	if err != nil {
		return err
	}
	target := filepath.Join(tmp, "restored")
	start := time.Now()
	rs, err := member.Restore(ctx, api.RestoreRequest{Snapshot: "latest", Target: target, RecoveryKey: api.NewRecoveryKey(rk)})
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	rep.RestoreSeconds = time.Since(start).Seconds()
	rep.RestoreMBps = mbps(rs.Bytes, time.Since(start))
	say("restore with the recovery key: %d files, %s in %.1fs (%.0f MB/s)", rs.Files, humanBytes(rs.Bytes), rep.RestoreSeconds, rep.RestoreMBps)

	diffs, err := gendata.Compare(source, filepath.Join(target, filepath.Base(source)))
	if err != nil {
		return fmt.Errorf("comparing: %w", err)
	}
	rep.Identical = len(diffs) == 0
	for _, d := range diffs {
		rep.Differences = append(rep.Differences, d.String())
	}
	if o.asJSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintln(g.stdout, string(b))
	}
	if !rep.Identical {
		for i, d := range diffs {
			if i == 10 {
				break
			}
			fmt.Fprintln(g.stderr, "  ", d)
		}
		return fmt.Errorf("the restored folder differs from the original in %d places", len(diffs))
	}
	say("verified: the restored folder is identical to the original (contents, modes, mtimes, symlinks)")
	return nil
}

func mbps(b int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(b) / 1e6 / d.Seconds()
}

func short(id erasure.StripeID) string { return id.String()[:12] }

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
