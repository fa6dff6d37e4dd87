package api

import "context"

// Backend is what the daemon does for the API: one method per route. The
// server calls methods concurrently, from the goroutines of their requests;
// the Backend serializes what must be (two backups, say) or answers
// ErrConflict. Requests are validated before a method is called (see each
// route in docs/api.md), and returned slices are the caller's.
//
// Errors pick the wire code by the sentinel they wrap (ErrNotFound,
// ErrNeedsRecoveryKey, ...; fs.ErrNotExist is not-found), or as an *Error;
// anything else is internal. Their messages go to the user as they are, on
// one line: say what is wrong and what to do, and never include a key.
//
// The ctx of Backup, Forget, Invite, Revoke, Renew, OperatorAdd, OperatorRemove
// and Drain is the server's, not
// the request's: it ends only when the server is made to stop (Start's ctx
// ends, or Shutdown's deadline passes), so closing the terminal does not
// stop them. The ctx of the other methods ends when the client goes away.
type Backend interface {
	Status(ctx context.Context) (Status, error)
	Peers(ctx context.Context) ([]Peer, error)
	Roster(ctx context.Context) ([]RosterEntry, error)
	Invite(ctx context.Context, req InviteRequest) (Invite, error)
	Revoke(ctx context.Context, req RevokeRequest) (RevokeResult, error)
	Renew(ctx context.Context, req RenewRequest) (RenewResult, error)
	OperatorAdd(ctx context.Context, req OperatorAddRequest) (OperatorResult, error)
	OperatorRemove(ctx context.Context, req OperatorRemoveRequest) (OperatorResult, error)
	Drain(ctx context.Context) (DrainResult, error)

	// Backup makes one snapshot. progress may be called at any rate from
	// one goroutine at a time until Backup returns (the server sends at
	// most one line per 100 ms, and always the one with Done set); it does
	// not block on the client. req.Stdin is set when req.StdinName is, and
	// fails with an error (not io.EOF) if the client's command fails or
	// the client goes away: then Backup must fail and make no snapshot.
	Backup(ctx context.Context, req BackupRequest, progress func(Progress)) (BackupResult, error)
	// Snapshots lists the member's snapshots, oldest first; without a
	// recovery key (and without --keep-recovery-key), those this node wrote.
	Snapshots(ctx context.Context, req SnapshotsRequest) ([]Snapshot, error)
	Ls(ctx context.Context, req LsRequest) ([]LsEntry, error)
	Restore(ctx context.Context, req RestoreRequest) (RestoreResult, error)
	Check(ctx context.Context, req CheckRequest) (CheckResult, error)
	Forget(ctx context.Context, req ForgetRequest) (ForgetResult, error)
}

// UnimplementedBackend answers ErrNotImplemented to every method. Embed it
// in a Backend that does only some of them yet.
type UnimplementedBackend struct{}

func (UnimplementedBackend) Status(context.Context) (Status, error) {
	return Status{}, ErrNotImplemented
}
func (UnimplementedBackend) Peers(context.Context) ([]Peer, error) { return nil, ErrNotImplemented }
func (UnimplementedBackend) Roster(context.Context) ([]RosterEntry, error) {
	return nil, ErrNotImplemented
}
func (UnimplementedBackend) Invite(context.Context, InviteRequest) (Invite, error) {
	return Invite{}, ErrNotImplemented
}
func (UnimplementedBackend) Revoke(context.Context, RevokeRequest) (RevokeResult, error) {
	return RevokeResult{}, ErrNotImplemented
}
func (UnimplementedBackend) Renew(context.Context, RenewRequest) (RenewResult, error) {
	return RenewResult{}, ErrNotImplemented
}
func (UnimplementedBackend) OperatorAdd(context.Context, OperatorAddRequest) (OperatorResult, error) {
	return OperatorResult{}, ErrNotImplemented
}
func (UnimplementedBackend) OperatorRemove(context.Context, OperatorRemoveRequest) (OperatorResult, error) {
	return OperatorResult{}, ErrNotImplemented
}
func (UnimplementedBackend) Drain(context.Context) (DrainResult, error) {
	return DrainResult{}, ErrNotImplemented
}
func (UnimplementedBackend) Backup(context.Context, BackupRequest, func(Progress)) (BackupResult, error) {
	return BackupResult{}, ErrNotImplemented
}
func (UnimplementedBackend) Snapshots(context.Context, SnapshotsRequest) ([]Snapshot, error) {
	return nil, ErrNotImplemented
}
func (UnimplementedBackend) Ls(context.Context, LsRequest) ([]LsEntry, error) {
	return nil, ErrNotImplemented
}
func (UnimplementedBackend) Restore(context.Context, RestoreRequest) (RestoreResult, error) {
	return RestoreResult{}, ErrNotImplemented
}
func (UnimplementedBackend) Check(context.Context, CheckRequest) (CheckResult, error) {
	return CheckResult{}, ErrNotImplemented
}
func (UnimplementedBackend) Forget(context.Context, ForgetRequest) (ForgetResult, error) {
	return ForgetResult{}, ErrNotImplemented
}
