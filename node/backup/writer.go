package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"

	"respaldo/crypto"
	"respaldo/erasure"
)

// Compression chooses the zstd level for chunks.
type Compression int

const (
	CompressFastest Compression = iota // zstd SpeedFastest (the default)
	CompressDefault                    // zstd SpeedDefault: ~5% smaller text, ~25% slower
	CompressOff                        // store every chunk raw
)

// Options configure a Writer. The zero value is ready to use.
type Options struct {
	// Host names the machine in snapshots; default os.Hostname().
	Host string
	// PackSize is the target pack size; default 8 MiB.
	PackSize int
	// Compression is the zstd level.
	Compression Compression
	// Readers is the number of files read (chunked and hashed) at once;
	// default GOMAXPROCS/2, at least 1: one reader chunks and hashes
	// faster than one core compresses, and each holds a 16 MiB buffer.
	Readers int
	// Workers is the number of compressors; default runtime.GOMAXPROCS(0).
	Workers int
	// Uploads is the number of packs put at once; default 3. A put waits
	// on fsyncs (a local store) or on the network (the mesh), so more puts
	// than cores keep the compressors busy: on the local store 4 beat 2 by
	// about 20%; through six storage daemons 3 was as fast as 4 and kept
	// 14 MB less live (docs/performance.md). Each costs one pack buffer
	// and its parity.
	Uploads int
	// Progress, if set, is called from one goroutine at most every
	// ProgressEvery (default 100 ms) during a backup, and once at the end
	// with Done set. It must not block for long.
	Progress      func(Progress)
	ProgressEvery time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// BackupOptions configure one backup.
type BackupOptions struct {
	Tags []string
	// Exclude lists glob patterns (filepath.Match); a file or directory is
	// left out when one matches its name or its absolute path.
	Exclude []string
	// NoIgnoreFiles disables per-directory ignore files (IgnoreFile).
	NoIgnoreFiles bool
	// Stdin, if set, is backed up instead of paths (which must be empty),
	// as one file named StdinName (mode 0600, mtime now) in the snapshot's
	// root; a read error from it fails the backup. For database dumps and
	// the like (respaldo backup --stdin-from CMD --stdin-name NAME).
	Stdin     io.Reader
	StdinName string
}

// IgnoreFile is the name of the per-directory ignore file: one glob per
// line ('#' starts a comment), matched against the names of the entries of
// that directory and of every directory below it, or, for a pattern with a
// '/', against the path relative to the ignore file's directory.
const IgnoreFile = ".respaldoignore"

// Progress is what a backup reports while it runs. Totals are unknown (0)
// until the walk has listed everything, which is near the end: the walk
// stays only a few files ahead of the readers.
type Progress struct {
	Files       int64 // regular files done
	Dirs        int64
	Bytes       int64 // file bytes read
	NewBytes    int64 // of which new (not found in the index)
	StoredBytes int64 // blob bytes put
	TotalFiles  int64 // 0 when not known
	TotalBytes  int64 // 0 when not known
	Path        string
	Elapsed     time.Duration
	Done        bool
}

// Summary is the result of a backup.
type Summary struct {
	SnapshotID  erasure.StripeID `json:"snapshot_id"`
	Head        Head             `json:"head"`
	Files       int64            `json:"files"`
	Dirs        int64            `json:"dirs"`
	Bytes       int64            `json:"bytes"`        // size of the files backed up
	NewBytes    int64            `json:"new_bytes"`    // raw bytes of new data chunks
	StoredBytes int64            `json:"stored_bytes"` // blob bytes put (packs, snapshot, catalog)
	Packs       int              `json:"packs"`
	Duration    time.Duration    `json:"duration"`
	Skipped     []SkippedFile    `json:"skipped,omitempty"`
	// ResumedPacks counts the packs a cut-off run had in flight that this
	// one finished from the store's journal; ResumedShardBytes, the shard
	// bytes of theirs that holders had acknowledged and were not sent
	// again (JournalStore).
	ResumedPacks      int   `json:"resumed_packs,omitempty"`
	ResumedShardBytes int64 `json:"resumed_shard_bytes,omitempty"`
	// Stripes lists, sorted, every stripe a restore of the snapshot reads,
	// whichever backup put it: its data and tree packs (new and reused),
	// the index packs, the snapshot record and the catalog of Head.
	Stripes []erasure.StripeID `json:"-"`
}

// SkippedFile is a file or directory that could not be read and is not in
// the snapshot. Skipping is not an error: the backup goes on.
type SkippedFile struct {
	Path string `json:"path"`
	Err  string `json:"error"`
}

// ErrNoPaths: Backup was called without paths.
var ErrNoPaths = errors.New("backup: nothing to back up")

// Writer makes backups with the write-side keys only: it can add snapshots
// but cannot read old ones (their trees, the catalog in the mesh). It keeps
// its index cache and the catalog entries it knows in the KV.
//
// A Writer runs one backup at a time (Backup calls are serialized); two
// Writers must not share a KV.
type Writer struct {
	store BlobStore
	kv    KV
	keys  *crypto.WriteKeys
	opts  Options
	mu    sync.Mutex
}

// NewWriter returns a Writer for the device of keys.
func NewWriter(store BlobStore, kv KV, keys *crypto.WriteKeys, opts Options) (*Writer, error) {
	if store == nil || kv == nil || keys == nil {
		return nil, errors.New("backup: NewWriter needs a store, a KV and write keys")
	}
	if opts.Host == "" {
		opts.Host, _ = os.Hostname()
	}
	opts.Host = cleanText(opts.Host)
	if opts.PackSize <= 0 {
		opts.PackSize = 8 << 20
	}
	opts.PackSize = min(opts.PackSize, 32<<20)
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Readers <= 0 {
		opts.Readers = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if opts.Uploads <= 0 {
		opts.Uploads = 3
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 100 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Writer{store: store, kv: kv, keys: keys, opts: opts}, nil
}

func (o *Options) level() zstd.EncoderLevel {
	if o.Compression == CompressDefault {
		return zstd.SpeedDefault
	}
	return zstd.SpeedFastest
}

// Backup backs up paths (files or directories) as one snapshot and moves
// this device's head to a catalog that includes it. Files and directories
// that cannot be read are skipped and listed in the Summary; a path that
// does not exist, a failing store or KV, or ctx ending is an error, and
// then no snapshot is made (packs already put are remembered, so the next
// run does not put them again).
func (w *Writer) Backup(ctx context.Context, paths []string, o BackupOptions) (*Summary, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	start := w.opts.Now()
	roots, err := checkBackup(paths, &o)
	if err != nil {
		return nil, err
	}
	resumed, saved, err := w.resumePuts(ctx)
	if err != nil {
		return nil, err
	}
	c, err := loadCache(ctx, w.kv, w.store)
	if err != nil {
		return nil, err
	}
	r := newRun(w, c, &o)
	root, err := r.run(ctx, roots)
	if err != nil {
		return nil, err
	}
	indexPacks, err := r.commitIndex(ctx)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{
		Time: start, Host: w.opts.Host, Device: w.keys.Device(), Paths: roots, Tags: o.Tags,
		Files: r.files.Load(), Dirs: r.dirs.Load(), Bytes: r.bytes.Load(), Root: root, IndexPacks: indexPacks,
	}
	rec := snap.record()
	snap.ID, err = r.putRecord(ctx, snapshotMagic, &rec)
	if err != nil {
		return nil, err
	}
	head, err := w.publish(ctx, r, snap.entry())
	if err != nil {
		return nil, err
	}
	r.reportDone(start)
	stripes := append(append(r.stripes(), indexPacks...), snap.ID, head.Catalog)
	slices.SortFunc(stripes, func(a, b erasure.StripeID) int { return bytes.Compare(a[:], b[:]) })
	return &Summary{
		SnapshotID: snap.ID, Head: head, Files: snap.Files, Dirs: snap.Dirs, Bytes: snap.Bytes,
		NewBytes: r.newBytes.Load(), StoredBytes: r.stored.Load(), Packs: int(r.packs.Load()),
		Duration: w.opts.Now().Sub(start), Skipped: r.skippedList(), Stripes: slices.Compact(stripes),
		ResumedPacks: resumed, ResumedShardBytes: saved,
	}, nil
}

// checkBackup makes paths absolute and checks that they exist and that the
// options are usable.
func checkBackup(paths []string, o *BackupOptions) ([]string, error) {
	for _, t := range o.Tags {
		if !utf8.ValidString(t) {
			return nil, fmt.Errorf("backup: tag %q is not UTF-8", t)
		}
	}
	if o.Stdin != nil {
		if len(paths) != 0 || !safeName([]byte(o.StdinName)) || !utf8.ValidString(o.StdinName) {
			return nil, fmt.Errorf("backup: a backup of standard input takes a file name (not %q) and no paths", o.StdinName)
		}
		return []string{o.StdinName}, nil
	}
	if len(paths) == 0 {
		return nil, ErrNoPaths
	}
	for _, p := range o.Exclude {
		if _, err := filepath.Match(p, ""); err != nil {
			return nil, fmt.Errorf("backup: exclude pattern %q: %w", p, err)
		}
	}
	roots := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		if _, err := os.Lstat(a); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("backup: %s does not exist", a)
		}
		roots[i] = a
	}
	return roots, nil
}
