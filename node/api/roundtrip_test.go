package api_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"respaldo/node/api"
)

// Every route through the client: the answer is the Backend's, and the
// Backend got the request as sent (the recovery key included).
func TestRoundTrip(t *testing.T) {
	f := newFake()
	_, _, c := start(t, f, api.ServerOptions{})
	ctx := context.Background()
	key := newKey(t)
	rk := api.NewRecoveryKey(key)

	same := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
		}
	}
	hasKey := func(name string, got api.RecoveryKey) {
		t.Helper()
		if k, ok := got.Key(); !ok || k != key {
			t.Errorf("%s: the backend did not get the recovery key", name)
		}
	}

	st, err := c.Status(ctx)
	same("status", st, fixedStatus)
	ps, err2 := c.Peers(ctx)
	same("peers", ps, fixedPeers)
	ro, err3 := c.Roster(ctx)
	same("roster", ro, fixedRoster)
	for _, e := range []error{err, err2, err3} {
		if e != nil {
			t.Fatal(e)
		}
	}

	invReq := api.InviteRequest{Zone: "office", Role: "client", TTL: api.Duration(72 * time.Hour), OperatorKey: api.NewSecret("opkey")}
	inv, err := c.Invite(ctx, invReq)
	if err != nil {
		t.Fatal(err)
	}
	same("invite", inv, fixedInvite)
	same("invite request", f.req("invite"), invReq)

	rv, err := c.Revoke(ctx, api.RevokeRequest{PeerID: "12D3KooWa"})
	if err != nil {
		t.Fatal(err)
	}
	same("revoke", rv, fixedRevoke)
	same("revoke request", f.req("revoke"), api.RevokeRequest{PeerID: "12D3KooWa"})

	rvReq := api.RevokeRequest{PeerID: "12D3KooWa", Reason: "seized", Force: true}
	if _, err := c.Revoke(ctx, rvReq); err != nil {
		t.Fatal(err)
	}
	same("revoke request with reason and force", f.req("revoke"), rvReq)

	rnReq := api.RenewRequest{PeerID: "12D3KooWa", For: api.Duration(720 * time.Hour)}
	rn, err := c.Renew(ctx, rnReq)
	if err != nil {
		t.Fatal(err)
	}
	same("renew", rn, fixedRenew)
	same("renew request", f.req("renew"), rnReq)

	oaReq := api.OperatorAddRequest{PublicKey: strings.Repeat("ab", 32), OperatorKey: api.NewSecret("op")}
	oa, err := c.OperatorAdd(ctx, oaReq)
	if err != nil {
		t.Fatal(err)
	}
	same("operator add", oa, fixedOperator)
	if got := f.req("operator-add").(api.OperatorAddRequest); got.PublicKey != oaReq.PublicKey || got.OperatorKey.Reveal() != "op" {
		t.Fatalf("operator add request: %+v", got)
	}
	orReq := api.OperatorRemoveRequest{Fingerprint: "0123456789abcdef"}
	if _, err := c.OperatorRemove(ctx, orReq); err != nil {
		t.Fatal(err)
	}
	same("operator remove request", f.req("operator-remove"), orReq)

	dr, err := c.Drain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same("drain", dr, fixedDrain)

	var lines []api.Progress
	br, err := c.Backup(ctx, api.BackupRequest{Paths: []string{"/home/u"}, Excludes: []string{"*.tmp"}, Tags: []string{"daily"}},
		func(p api.Progress) { lines = append(lines, p) })
	if err != nil {
		t.Fatal(err)
	}
	same("backup", br, fixedBackup)
	same("backup progress", lines, []api.Progress{{Files: 10, Bytes: 1000, Done: true}})
	same("backup request", f.req("backup"), api.BackupRequest{Paths: []string{"/home/u"}, Excludes: []string{"*.tmp"}, Tags: []string{"daily"}})

	sn, err := c.Snapshots(ctx, api.SnapshotsRequest{RecoveryKey: rk})
	if err != nil {
		t.Fatal(err)
	}
	same("snapshots", sn, fixedSnapshots)
	hasKey("snapshots", f.req("snapshots").(api.SnapshotsRequest).RecoveryKey)

	ls, err := c.Ls(ctx, api.LsRequest{Snapshot: "latest", Path: "u", RecoveryKey: rk})
	if err != nil {
		t.Fatal(err)
	}
	same("ls", ls, fixedLs)
	lr := f.req("ls").(api.LsRequest)
	hasKey("ls", lr.RecoveryKey)
	if lr.Snapshot != "latest" || lr.Path != "u" {
		t.Errorf("ls request %+v", lr)
	}

	rs, err := c.Restore(ctx, api.RestoreRequest{Snapshot: "ab12", Target: "/tmp/r", Include: []string{"u/*"}, RecoveryKey: rk})
	if err != nil {
		t.Fatal(err)
	}
	same("restore", rs, fixedRestore)
	rr := f.req("restore").(api.RestoreRequest)
	hasKey("restore", rr.RecoveryKey)
	if rr.Snapshot != "ab12" || rr.Target != "/tmp/r" || !reflect.DeepEqual(rr.Include, []string{"u/*"}) {
		t.Errorf("restore request %+v", rr)
	}

	ck, err := c.Check(ctx, api.CheckRequest{ReadData: true, RecoveryKey: rk})
	if err != nil {
		t.Fatal(err)
	}
	same("check", ck, fixedCheck)
	if cr := f.req("check").(api.CheckRequest); !cr.ReadData {
		t.Errorf("check request %+v", cr)
	}

	fg, err := c.Forget(ctx, api.ForgetRequest{KeepLast: 3, KeepDaily: 7, Prune: true, RecoveryKey: rk})
	if err != nil {
		t.Fatal(err)
	}
	same("forget", fg, fixedForget)
	fr := f.req("forget").(api.ForgetRequest)
	hasKey("forget", fr.RecoveryKey)
	if fr.KeepLast != 3 || fr.KeepDaily != 7 || !fr.Prune {
		t.Errorf("forget request %+v", fr)
	}

	// A request without a key reaches the backend without one.
	if _, err := c.Snapshots(ctx, api.SnapshotsRequest{}); err != nil {
		t.Fatal(err)
	}
	if !f.req("snapshots").(api.SnapshotsRequest).RecoveryKey.IsZero() {
		t.Error("snapshots without a key: the backend got one")
	}
}

// Relative paths are resolved by the client, against its working directory.
func TestClientMakesPathsAbsolute(t *testing.T) {
	f := newFake()
	_, _, c := start(t, f, api.ServerOptions{})
	t.Chdir(t.TempDir())
	wd := mustWd(t)
	if _, err := c.Backup(context.Background(), api.BackupRequest{Paths: []string{"docs"}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.req("backup").(api.BackupRequest).Paths; !reflect.DeepEqual(got, []string{wd + "/docs"}) {
		t.Errorf("backup paths %q", got)
	}
	if _, err := c.Restore(context.Background(), api.RestoreRequest{Snapshot: "latest", Target: "out"}); err != nil {
		t.Fatal(err)
	}
	if got := f.req("restore").(api.RestoreRequest).Target; got != wd+"/out" {
		t.Errorf("restore target %q", got)
	}
}

// A Backend that does nothing yet answers not-implemented.
func TestUnimplemented(t *testing.T) {
	_, _, c := start(t, api.UnimplementedBackend{}, api.ServerOptions{})
	_, err := c.Status(context.Background())
	if !errorsIs(err, api.ErrNotImplemented) {
		t.Fatalf("status: %v", err)
	}
	_, err = c.Backup(context.Background(), api.BackupRequest{Paths: []string{"/x"}}, nil)
	if !errorsIs(err, api.ErrNotImplemented) {
		t.Fatalf("backup: %v", err)
	}
}
