package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"respaldo/crypto"
	"respaldo/erasure"
	"respaldo/node/backup"
	"respaldo/node/store"
	"respaldo/scripts/gendata"
)

type demoOptions struct {
	nodes  int
	source string
	size   string
	ec     string
	seed   uint64
	keep   bool
	asJSON bool
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
it backs up a generated sample folder (or --source DIR), spreading every stripe's
k+m shards over --nodes separate shard stores; backs up again to show that
unchanged data is not stored twice; deletes m of the stores for good, as if their
machines had been seized; restores from the recovery key alone; and compares the
result with the original byte for byte (contents, modes, mtimes, symlinks).

The shard stores still live in this one process; with the mesh they become real
nodes on 127.0.0.1. Nothing outside the temporary folder is written, and the
folder is removed at the end unless --keep is given.`,
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

	// A throwaway member: the recovery key is the only thing a member must keep.
	rk, err := crypto.GenerateRecoveryKey()
	if err != nil {
		return err
	}
	wk, err := rk.WriteKeys("demo-laptop")
	if err != nil {
		return err
	}
	member, err := store.Open(filepath.Join(tmp, "member"), store.DefaultOptions())
	if err != nil {
		return err
	}
	defer member.Close()
	kv := backup.RecordsKV{R: member.Records(), NotFound: store.ErrNotFound}

	blobs := &spreadBlobs{p: p}
	for i := range o.nodes {
		st, err := store.Open(filepath.Join(tmp, fmt.Sprintf("node-%d", i)), store.DefaultOptions())
		if err != nil {
			return err
		}
		blobs.stores = append(blobs.stores, st)
	}
	defer func() {
		for i := range blobs.stores {
			_ = blobs.lose(i)
		}
	}()
	say("mesh: %d storage nodes, each stripe coded %s (any %d shards rebuild it)", o.nodes, p, p.K)

	prog := newBackupProgress(g.stderr, false)
	w, err := backup.NewWriter(blobs, kv, wk, backup.Options{Host: "demo-laptop", Progress: prog.update})
	if err != nil {
		return err
	}
	sum, err := w.Backup(ctx, []string{source}, backup.BackupOptions{})
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	rep.Files, rep.Bytes, rep.StoredBytes = sum.Files, sum.Bytes, sum.StoredBytes
	rep.BackupSeconds = sum.Duration.Seconds()
	rep.BackupMBps = mbps(sum.Bytes, sum.Duration)
	for _, st := range blobs.stores {
		u, err := st.Usage(ctx)
		if err != nil {
			return err
		}
		rep.ShardBytes += u.UsedBytes
	}
	say("backup: %d files, %s in %.1fs (%.0f MB/s); %s of encrypted packs, %s of shards on the nodes",
		sum.Files, humanBytes(sum.Bytes), rep.BackupSeconds, rep.BackupMBps, humanBytes(sum.StoredBytes), humanBytes(rep.ShardBytes))
	say("        snapshot %s, survives the loss of any %d nodes", short(sum.SnapshotID), tolerates(p, o.nodes))

	again, err := w.Backup(ctx, []string{source}, backup.BackupOptions{})
	if err != nil {
		return fmt.Errorf("second backup: %w", err)
	}
	rep.RebackupSeconds, rep.RebackupBytes = again.Duration.Seconds(), again.StoredBytes
	say("backup again, nothing changed: %.1fs, %s stored (only the snapshot and catalog)", rep.RebackupSeconds, humanBytes(again.StoredBytes))

	// Lose as many nodes as the stripes tolerate, chosen by the seed.
	rng := rand.New(rand.NewPCG(o.seed, 7))
	lose := tolerates(p, o.nodes)
	perm := rng.Perm(o.nodes)[:lose]
	sort.Ints(perm)
	for _, i := range perm {
		if err := blobs.lose(i); err != nil {
			return err
		}
		if err := os.RemoveAll(filepath.Join(tmp, fmt.Sprintf("node-%d", i))); err != nil {
			return err
		}
	}
	rep.Lost = perm
	if lose == 0 {
		say("lost no node: with %d nodes at %s a stripe survives no node loss", o.nodes, p)
	} else {
		say("lost for good: nodes %v (their disks are deleted)", perm)
	}

	// Restore with what only the recovery key yields, typed back in.
	rk2, err := crypto.ParseRecoveryKey(rk.Reveal())
	if err != nil {
		return err
	}
	r := backup.NewReader(blobs, kv, rk2.Member())
	snap, err := r.Find(ctx, "latest")
	if err != nil {
		return fmt.Errorf("finding the snapshot: %w", err)
	}
	target := filepath.Join(tmp, "restored")
	start := time.Now()
	rs, err := r.Restore(ctx, snap.ID, target, backup.RestoreOptions{})
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	rep.RestoreSeconds = time.Since(start).Seconds()
	rep.RestoreMBps = mbps(rs.Bytes, time.Since(start))
	say("restore from the recovery key: %d files, %s in %.1fs (%.0f MB/s)", rs.Files, humanBytes(rs.Bytes), rep.RestoreSeconds, rep.RestoreMBps)

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

// tolerates is how many whole nodes may be lost when a stripe's shards are
// spread round-robin over n nodes: each holds at most ⌈(k+m)/n⌉ of them.
func tolerates(p erasure.Params, n int) int {
	per := (p.Total() + n - 1) / n
	return min(p.M/per, n-1)
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
