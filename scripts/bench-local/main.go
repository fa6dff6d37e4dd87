// Command bench-local runs respaldo's whole local pipeline — keyed CDC,
// chunk IDs, dedup, zstd, packs, age, Reed-Solomon, crash-safe shard files —
// into one shard store on this machine, for scripts/bench-vs-restic.sh:
//
//	bench-local backup  -store DIR [-ec 4+2] PATH...
//	bench-local restore -store DIR -target DIR
//	bench-local compare ORIGINAL RESTORED
//
// It uses a fixed recovery key: it measures, it does not protect anything.
// Each command prints one JSON line with its figures.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"respaldo/crypto"
	"respaldo/erasure"
	"respaldo/node"
	"respaldo/node/backup"
	"respaldo/node/store"
	"respaldo/scripts/gendata"
)

// benchKey is a fixed, public recovery key: never use it for real data.
var benchKey = crypto.RecoveryKey{0x62, 0x65, 0x6e, 0x63, 0x68}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench-local backup|restore|compare …")
		os.Exit(2)
	}
	// The same soft memory limit as every respaldo process.
	node.ApplyMemoryLimit(0)
	var err error
	switch os.Args[1] {
	case "backup":
		err = runBackup(os.Args[2:])
	case "restore":
		err = runRestore(os.Args[2:])
	case "compare":
		err = runCompare(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-local:", err)
		os.Exit(1)
	}
}

type common struct {
	store, ec, cpuprofile     string
	readers, workers, uploads int
}

func (c *common) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.store, "store", "", "shard store folder (created)")
	fs.StringVar(&c.ec, "ec", "4+2", "erasure coding k+m")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile here")
	fs.IntVar(&c.readers, "readers", 0, "files read at once (0: the node's default)")
	fs.IntVar(&c.workers, "workers", 0, "compressors (0: the node's default)")
	fs.IntVar(&c.uploads, "uploads", 0, "packs stored at once (0: the node's default)")
}

func (c *common) open() (*store.DiskStore, backup.BlobStore, backup.KV, func(), error) {
	if c.store == "" {
		return nil, nil, nil, nil, fmt.Errorf("-store DIR is required")
	}
	p, err := erasure.ParseParams(c.ec)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	st, err := store.Open(c.store, store.DefaultOptions())
	if err != nil {
		return nil, nil, nil, nil, err
	}
	stop := func() {}
	if c.cpuprofile != "" {
		f, err := os.Create(c.cpuprofile)
		if err != nil {
			st.Close()
			return nil, nil, nil, nil, err
		}
		pprof.StartCPUProfile(f)
		stop = func() { pprof.StopCPUProfile(); f.Close() }
	}
	return st, store.NewLocalBlobs(st, p), backup.RecordsKV{R: st.Records(), NotFound: store.ErrNotFound}, stop, nil
}

func runBackup(args []string) error {
	fs := flag.NewFlagSet("backup", flag.ExitOnError)
	var c common
	c.flags(fs)
	fs.Parse(args)
	st, blobs, kv, stop, err := c.open()
	if err != nil {
		return err
	}
	defer st.Close()
	defer stop()
	wk, err := benchKey.WriteKeys("bench")
	if err != nil {
		return err
	}
	w, err := backup.NewWriter(blobs, kv, wk, backup.Options{Host: "bench", Readers: c.readers, Workers: c.workers, Uploads: c.uploads})
	if err != nil {
		return err
	}
	start := time.Now()
	sum, err := w.Backup(context.Background(), fs.Args(), backup.BackupOptions{})
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	u, _ := st.Usage(context.Background())
	return printJSON(map[string]any{
		"snapshot_id": sum.SnapshotID, "files": sum.Files, "bytes": sum.Bytes, "new_bytes": sum.NewBytes,
		"stored_bytes": sum.StoredBytes, "packs": sum.Packs, "seconds": secs,
		"mb_per_s": float64(sum.Bytes) / 1e6 / secs, "shard_bytes_on_disk": u.UsedBytes,
	})
}

func runRestore(args []string) error {
	fs := flag.NewFlagSet("restore", flag.ExitOnError)
	var c common
	c.flags(fs)
	target := fs.String("target", "", "folder to restore into (must be empty or absent)")
	fs.Parse(args)
	if *target == "" {
		return fmt.Errorf("-target DIR is required")
	}
	st, blobs, kv, stop, err := c.open()
	if err != nil {
		return err
	}
	defer st.Close()
	defer stop()
	r := backup.NewReader(blobs, kv, benchKey.Member())
	ctx := context.Background()
	snap, err := r.Find(ctx, "latest")
	if err != nil {
		return err
	}
	start := time.Now()
	sum, err := r.Restore(ctx, snap.ID, *target, backup.RestoreOptions{})
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	return printJSON(map[string]any{
		"files": sum.Files, "bytes": sum.Bytes, "seconds": secs, "mb_per_s": float64(sum.Bytes) / 1e6 / secs,
	})
}

func runCompare(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("compare ORIGINAL RESTORED")
	}
	diffs, err := gendata.Compare(filepath.Clean(args[0]), filepath.Clean(args[1]))
	if err != nil {
		return err
	}
	for i, d := range diffs {
		if i == 20 {
			fmt.Fprintf(os.Stderr, "… and %d more\n", len(diffs)-20)
			break
		}
		fmt.Fprintln(os.Stderr, d)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%d differences", len(diffs))
	}
	return printJSON(map[string]any{"identical": true})
}

func printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(b))
	return err
}
