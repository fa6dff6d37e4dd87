package api_test

import (
	"context"
	"io"
	"sync"
	"time"

	"respaldo/node/api"
)

var (
	t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	fixedStatus = api.Status{PeerID: "12D3KooWself", Zone: "home", Version: "0.1.0", PeersTotal: 6, PeersOnline: 5,
		Shards: 1200, UsedBytes: 3 << 30, FreeBytes: 100 << 30,
		Stripes:     api.StripeCounts{Healthy: 190, Degraded: 7, AtRisk: 2, Lost: 1},
		RepairQueue: 9, ToleratesLosses: 1}
	fixedPeers = []api.Peer{{ID: "12D3KooWa", Zone: "office", Role: "storage", Addrs: []string{"/ip4/10.0.0.2/tcp/4001"},
		Connected: true, LastSeen: t0, LatencyMS: 3.5, Availability: 0.99, FreeBytes: 1 << 40, UsedBytes: 1 << 30,
		Shards: 400, Version: "0.1.0"}}
	fixedRoster = []api.RosterEntry{{Seq: 0, Kind: "genesis", SignedBy: "op1", Time: t0},
		{Seq: 1, Kind: "admit", PeerID: "12D3KooWa", Zone: "office", Role: "storage", SignedBy: "op1", Time: t0}}
	fixedInvite = api.Invite{Invite: "respaldo1qqqq", MeshID: "mesh1", Zone: "office", Role: "client",
		Expires: t0.Add(time.Hour), Addrs: []string{"/ip4/10.0.0.1/tcp/4001"}}
	fixedBackup = api.BackupResult{SnapshotID: "ab12", Files: 10, Bytes: 1000, NewBytes: 100, Duration: 1.5,
		ToleratesLosses: 2, Skipped: []api.Skipped{{Path: "/home/u/locked", Error: "permission denied"}}}
	fixedSnapshots = []api.Snapshot{{ID: "ab12", Time: t0, Host: "laptop", Paths: []string{"/home/u"},
		Tags: []string{"daily"}, Files: 10, Bytes: 1000}}
	fixedLs      = []api.LsEntry{{Path: "u/a.txt", Type: "file", Size: 5, Mode: 0o644, MTime: t0}}
	fixedRestore = api.RestoreResult{Files: 10, Bytes: 1000, Duration: 0.5}
	fixedCheck   = api.CheckResult{Stripes: 200, Healthy: 190, Degraded: 7, AtRisk: 2, Lost: 1, Underplaced: 3,
		ReadErrors: 1, ToleratesLosses: 1}
	fixedForget   = api.ForgetResult{Removed: []string{"aa"}, Kept: []string{"ab12"}}
	fixedRevoke   = api.RevokeResult{Revoked: "12D3KooWa"}
	fixedDrain    = api.DrainResult{Moved: 400, Remaining: 0}
	fixedRenew    = api.RenewResult{Renewed: "12D3KooWa", Expires: t0.Add(720 * time.Hour)}
	fixedOperator = api.OperatorResult{Fingerprint: "0123456789abcdef", Operators: []string{"0123456789abcdef", "fedcba9876543210"}, Seq: 9}
)

// fakeBackend returns the fixed data above, or err when set, and records
// each call with its request. backup, if set, replaces Backup.
type fakeBackend struct {
	err    error
	backup func(ctx context.Context, req api.BackupRequest, progress func(api.Progress)) (api.BackupResult, error)

	// stdinErr, if set, gets the error Stdin ended with (nil: EOF).
	stdinErr chan error

	mu    sync.Mutex
	calls []string
	reqs  map[string]any
	stdin []byte
}

func newFake() *fakeBackend { return &fakeBackend{reqs: map[string]any{}} }

func (f *fakeBackend) record(name string, req any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	f.reqs[name] = req
}

func (f *fakeBackend) req(name string) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[name]
}

func answer[T any](f *fakeBackend, v T) (T, error) {
	if f.err != nil {
		var zero T
		return zero, f.err
	}
	return v, nil
}

func (f *fakeBackend) Status(context.Context) (api.Status, error) {
	f.record("status", nil)
	return answer(f, fixedStatus)
}

func (f *fakeBackend) Peers(context.Context) ([]api.Peer, error) {
	f.record("peers", nil)
	return answer(f, fixedPeers)
}

func (f *fakeBackend) Roster(context.Context) ([]api.RosterEntry, error) {
	f.record("roster", nil)
	return answer(f, fixedRoster)
}

func (f *fakeBackend) Invite(_ context.Context, req api.InviteRequest) (api.Invite, error) {
	f.record("invite", req)
	return answer(f, fixedInvite)
}

func (f *fakeBackend) Revoke(_ context.Context, req api.RevokeRequest) (api.RevokeResult, error) {
	f.record("revoke", req)
	return answer(f, fixedRevoke)
}

func (f *fakeBackend) Renew(_ context.Context, req api.RenewRequest) (api.RenewResult, error) {
	f.record("renew", req)
	return answer(f, fixedRenew)
}

func (f *fakeBackend) OperatorAdd(_ context.Context, req api.OperatorAddRequest) (api.OperatorResult, error) {
	f.record("operator-add", req)
	return answer(f, fixedOperator)
}

func (f *fakeBackend) OperatorRemove(_ context.Context, req api.OperatorRemoveRequest) (api.OperatorResult, error) {
	f.record("operator-remove", req)
	return answer(f, fixedOperator)
}

func (f *fakeBackend) Drain(context.Context) (api.DrainResult, error) {
	f.record("drain", nil)
	return answer(f, fixedDrain)
}

func (f *fakeBackend) Backup(ctx context.Context, req api.BackupRequest, progress func(api.Progress)) (api.BackupResult, error) {
	if req.Stdin != nil {
		b, err := io.ReadAll(req.Stdin)
		f.mu.Lock()
		f.stdin = b
		f.mu.Unlock()
		if f.stdinErr != nil {
			f.stdinErr <- err
		}
		if err != nil {
			return api.BackupResult{}, err
		}
	}
	req.Stdin = nil
	f.record("backup", req)
	if f.backup != nil {
		return f.backup(ctx, req, progress)
	}
	progress(api.Progress{Files: 10, Bytes: 1000, Done: true})
	return answer(f, fixedBackup)
}

func (f *fakeBackend) Snapshots(_ context.Context, req api.SnapshotsRequest) ([]api.Snapshot, error) {
	f.record("snapshots", req)
	return answer(f, fixedSnapshots)
}

func (f *fakeBackend) Ls(_ context.Context, req api.LsRequest) ([]api.LsEntry, error) {
	f.record("ls", req)
	return answer(f, fixedLs)
}

func (f *fakeBackend) Restore(_ context.Context, req api.RestoreRequest) (api.RestoreResult, error) {
	f.record("restore", req)
	return answer(f, fixedRestore)
}

func (f *fakeBackend) Check(_ context.Context, req api.CheckRequest) (api.CheckResult, error) {
	f.record("check", req)
	return answer(f, fixedCheck)
}

func (f *fakeBackend) Forget(_ context.Context, req api.ForgetRequest) (api.ForgetResult, error) {
	f.record("forget", req)
	return answer(f, fixedForget)
}
