package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/crypto"
	"respaldo/erasure"
	"respaldo/node/api"
	"respaldo/node/backup"
	"respaldo/node/mesh"
	"respaldo/node/meshblobs"
	"respaldo/node/placement"
	"respaldo/node/roster"
	"respaldo/node/store"
)

// The member's side of the daemon: backups made inside the node (so that
// closing the terminal does not stop them) into the mesh, and the commands
// that read the past, which take the recovery key per request (DESIGN.md,
// promise 8). docs/daemon.md, "Member commands".

// memberState is the node's member: its write-side keys, loaded on first
// use, and the one backup that may run at a time.
type memberState struct {
	busy atomic.Bool
	mu   sync.Mutex
	wk   *crypto.WriteKeys
	sent shardCounters // what its backups sent to holders (crashpoint_metrics.go)
}

// writeKeys returns the member's write-side keys (DIR/member.keys).
func (n *Node) writeKeys() (*crypto.WriteKeys, error) {
	n.member.mu.Lock()
	defer n.member.mu.Unlock()
	if n.member.wk != nil {
		return n.member.wk, nil
	}
	wk, err := LoadMember(n.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", api.ErrForbidden, errNoMember)
	}
	if err != nil {
		return nil, err
	}
	n.member.wk = wk
	return wk, nil
}

// kv is where backups keep node-local state: the store's records.
func (n *Node) kv() backup.KV {
	return watchKV(backup.RecordsKV{R: n.store.Records(), NotFound: store.ErrNotFound}) // kv-put crash point (crashpoint.go)
}

// memberKeys turns a request's recovery key into the member's keys. A key
// of another member than this node's is refused: the heads this node keeps
// are its member's.
func (n *Node) memberKeys(rk api.RecoveryKey) (*crypto.MemberKeys, backup.KV, error) {
	k, ok := rk.Key()
	if !ok {
		return nil, nil, api.ErrNeedsRecoveryKey
	}
	mk := k.Member()
	wk, err := n.writeKeys()
	switch {
	case err == nil && mk.MemberID() != wk.MemberID():
		return nil, nil, fmt.Errorf("%w: wrong recovery key: it is not the key of this node's member", api.ErrForbidden)
	case err == nil:
		return mk, n.kv(), nil
	default:
		// A node without a member reads for whoever proves a key, with
		// the heads kept for this request only.
		return mk, backup.NewMemKV(), nil
	}
}

// reader returns a Reader for the member of rk, its heads refreshed from
// the mesh, and the member's keys (derived once: it is slow).
func (n *Node) reader(ctx context.Context, rk api.RecoveryKey) (*backup.Reader, *crypto.MemberKeys, error) {
	mk, kv, err := n.memberKeys(rk)
	if err != nil {
		return nil, nil, err
	}
	b, err := n.blobs(mk)
	if err != nil {
		return nil, nil, err
	}
	devices, answered, err := n.refreshHeads(ctx, mk, kv)
	n.log.Debug("heads refreshed", "devices", devices, "nodes_answered", answered, "err", err)
	if err != nil {
		// Heads this node already knows still serve; say why if none do.
		var any bool
		_ = kv.Iterate(ctx, backup.HeadKey(""), func(_, _ []byte) error { any = true; return errStop })
		if !any {
			return nil, nil, fmt.Errorf("%w: %v", api.ErrUnavailable, err)
		}
	}
	return backup.NewReader(b, kv, mk), mk, nil
}

var errStop = errors.New("stop")

// Backup makes one snapshot into the mesh and publishes the head.
func (b *backend) Backup(ctx context.Context, req api.BackupRequest, progress func(api.Progress)) (api.BackupResult, error) {
	n := b.n
	if !n.member.busy.CompareAndSwap(false, true) {
		return api.BackupResult{}, fmt.Errorf("%w: a backup is already running on this node; wait for it to finish", api.ErrConflict)
	}
	defer n.member.busy.Store(false)
	wk, err := n.writeKeys()
	if err != nil {
		return api.BackupResult{}, err
	}
	p, err := n.ecParams()
	if err != nil {
		return api.BackupResult{}, err
	}
	if n.storagePeersLive() == 0 {
		return api.BackupResult{}, fmt.Errorf("%w: no storage node is reachable; nothing was backed up (respaldo peers shows the mesh)", api.ErrUnavailable)
	}
	blobs, err := n.blobs(nil)
	if err != nil {
		return api.BackupResult{}, err
	}
	host, _ := os.Hostname()
	opts := backup.Options{Host: host, Now: n.cfg.Now}
	if progress != nil {
		opts.Progress = func(pr backup.Progress) { progress(apiProgress(pr)) }
	}
	w, err := backup.NewWriter(n.watchBlobs(blobs), n.kv(), wk, opts) // shard counters, blob-put crash point (crashpoint.go)
	if err != nil {
		return api.BackupResult{}, err
	}
	sum, err := w.Backup(ctx, req.Paths, backup.BackupOptions{
		Tags: req.Tags, Exclude: req.Excludes, Stdin: req.Stdin, StdinName: req.StdinName,
	})
	meshblobs.DropSpares(n.journalDir()) // no sent pack's ciphertext stays
	if err != nil {
		if errors.Is(err, backup.ErrNoPaths) {
			err = fmt.Errorf("%w: %w", api.ErrBadRequest, err)
		}
		return api.BackupResult{}, err
	}
	holders, err := n.publishHead(ctx, wk, sum.Head)
	if err != nil {
		// The head is kept here and republished by maintain; the snapshot
		// is safe in the mesh either way.
		n.log.Warn("head not yet in the DHT; it will be put again", "err", err)
	} else {
		n.log.Info("backup done", "snapshot", sum.SnapshotID, "head_seq", sum.Head.Seq, "head_holders", holders)
	}
	tol := n.toleratesLosses(ctx, sum.Stripes, p)
	res := api.BackupResult{
		SnapshotID: sum.SnapshotID.String(), Files: sum.Files, Bytes: sum.Bytes, NewBytes: sum.NewBytes,
		Duration: sum.Duration.Seconds(), ToleratesLosses: tol,
	}
	for _, s := range sum.Skipped {
		res.Skipped = append(res.Skipped, api.Skipped{Path: s.Path, Error: s.Err})
	}
	return res, nil
}

// toleratesLosses is the fewest peer losses any of the stripes survives,
// as their placement (the holder hints of this node's records) says,
// counting only the holders live now (this node, and peers heard from
// within the live window): placement.ToleratesLosses, that is live holders
// − k when each holds one shard, and -1 for a stripe with fewer than k
// live. A stripe whose placement this node does not know counts as 0. It
// covers every stripe a snapshot needs, not only those its backup put: a
// backup of nothing new puts only its snapshot and catalog.
func (n *Node) toleratesLosses(ctx context.Context, stripes []erasure.StripeID, p erasure.Params) int {
	if len(stripes) == 0 {
		return p.M
	}
	live := map[peer.ID]bool{n.self: true}
	for _, c := range n.candidates() {
		if c.Live && c.Role == roster.RoleStorage {
			if id, err := peer.Decode(string(c.ID)); err == nil {
				live[id] = true
			}
		}
	}
	recs := n.store.Records()
	least := p.M
	for _, id := range stripes {
		key := []byte(meshblobs.HintPrefix + id.String())
		v, err := recs.Get(ctx, key)
		var d *erasure.Descriptor
		var holders []peer.ID
		if err == nil {
			_, d, holders, err = meshblobs.DecodeHint(key, v)
		}
		if err != nil {
			n.log.Warn("backup: no placement known for a stripe of the snapshot; counting it as tolerating no loss", "stripe", id, "err", err)
			least = min(least, 0)
			continue
		}
		least = min(least, liveTolerance(holders, d.Params().K, live))
	}
	return least
}

// liveTolerance is placement.ToleratesLosses over the holders that live
// says are up.
func liveTolerance(holders []peer.ID, k int, live map[peer.ID]bool) int {
	hs := make([]mesh.PeerID, len(holders))
	for i, h := range holders {
		if h != "" && live[h] {
			hs[i] = mesh.PeerID(h.String())
		}
	}
	return placement.ToleratesLosses(hs, k)
}

func apiProgress(pr backup.Progress) api.Progress {
	out := api.Progress{
		Files: pr.Files, Dirs: pr.Dirs, Bytes: pr.Bytes, NewBytes: pr.NewBytes,
		TotalFiles: pr.TotalFiles, TotalBytes: pr.TotalBytes, Path: pr.Path,
		Elapsed: pr.Elapsed.Seconds(), Done: pr.Done,
	}
	if s := pr.Elapsed.Seconds(); s > 0 {
		out.Rate = float64(pr.Bytes) / s
	}
	if out.Rate > 0 && pr.TotalBytes > pr.Bytes {
		out.ETA = float64(pr.TotalBytes-pr.Bytes) / out.Rate
	}
	return out
}

// Snapshots lists the member's snapshots: with a recovery key all of them
// (every device's, from the heads in the mesh), without one those this
// node knows (its own, in the clear in its records).
func (b *backend) Snapshots(ctx context.Context, req api.SnapshotsRequest) ([]api.Snapshot, error) {
	n := b.n
	var es []backup.CatalogEntry
	if req.RecoveryKey.IsZero() {
		wk, err := n.writeKeys()
		if err != nil {
			return nil, err
		}
		if es, err = backup.KnownSnapshots(ctx, n.kv(), wk); err != nil {
			return nil, err
		}
	} else {
		r, _, err := n.reader(ctx, req.RecoveryKey)
		if err != nil {
			return nil, err
		}
		if es, err = r.Snapshots(ctx); err != nil {
			return nil, readErr(err)
		}
	}
	out := make([]api.Snapshot, 0, len(es))
	for _, e := range es {
		out = append(out, api.Snapshot{
			ID: e.ID.String(), Time: e.Time, Host: e.Host, Paths: orEmpty(e.Paths), Tags: orEmpty(e.Tags),
			Files: e.Files, Bytes: e.Bytes,
		})
	}
	return out, nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Ls lists a directory of a snapshot (its root by default).
func (b *backend) Ls(ctx context.Context, req api.LsRequest) ([]api.LsEntry, error) {
	r, _, err := b.n.reader(ctx, req.RecoveryKey)
	if err != nil {
		return nil, err
	}
	e, err := r.Find(ctx, req.Snapshot)
	if err != nil {
		return nil, readErr(err)
	}
	es, err := r.List(ctx, e.ID, req.Path)
	if err != nil {
		return nil, readErr(err)
	}
	out := make([]api.LsEntry, 0, len(es))
	for _, x := range es {
		out = append(out, api.LsEntry{Path: x.Path, Type: x.Type.String(), Size: x.Size, Mode: x.Mode, MTime: x.MTime})
	}
	return out, nil
}

// Restore writes a snapshot into req.Target on this machine.
func (b *backend) Restore(ctx context.Context, req api.RestoreRequest) (api.RestoreResult, error) {
	start := time.Now()
	r, _, err := b.n.reader(ctx, req.RecoveryKey)
	if err != nil {
		return api.RestoreResult{}, err
	}
	e, err := r.Find(ctx, req.Snapshot)
	if err != nil {
		return api.RestoreResult{}, readErr(err)
	}
	sum, err := r.Restore(ctx, e.ID, req.Target, backup.RestoreOptions{Overwrite: req.Overwrite, Include: req.Include})
	if errors.Is(err, syscall.ENOSPC) {
		// The error names the file cut short; say what is left.
		err = fmt.Errorf("%w (files not finished were removed; those restored are whole)", err)
	}
	if err != nil {
		return api.RestoreResult{}, readErr(err)
	}
	return api.RestoreResult{Files: sum.Files, Bytes: sum.Bytes, Duration: time.Since(start).Seconds()}, nil
}

// readErr gives the errors of reading the past their API codes.
func readErr(err error) error {
	switch {
	case errors.Is(err, backup.ErrSnapshotNotFound):
		return fmt.Errorf("%w: %w", api.ErrNotFound, err)
	case errors.Is(err, backup.ErrTargetNotEmpty):
		return fmt.Errorf("%w: %w", api.ErrConflict, err)
	case errors.Is(err, crypto.ErrWrongKey):
		return fmt.Errorf("%w: wrong recovery key: %w", api.ErrForbidden, err)
	}
	return err
}
