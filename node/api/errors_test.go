package api_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"testing"
	"time"

	"respaldo/node/api"
)

// Backend errors map to codes on the wire and back to the same sentinels,
// with the Backend's message as the one line.
func TestBackendErrors(t *testing.T) {
	cases := []struct {
		err    error
		code   string
		status int
		is     error
	}{
		{fmt.Errorf("snapshot ab12: %w", api.ErrNotFound), "not-found", 404, api.ErrNotFound},
		{fmt.Errorf("ls: u/x: %w", fs.ErrNotExist), "not-found", 404, api.ErrNotFound},
		{api.ErrNeedsRecoveryKey, "needs-recovery-key", 403, api.ErrNeedsRecoveryKey},
		{fmt.Errorf("invite: %w", api.ErrNeedsOperatorKey), "needs-operator-key", 403, api.ErrNeedsOperatorKey},
		{fmt.Errorf("a backup is running: %w", api.ErrConflict), "conflict", 409, api.ErrConflict},
		{fmt.Errorf("no peers: %w", api.ErrUnavailable), "unavailable", 503, api.ErrUnavailable},
		{fmt.Errorf("bad: %w", api.ErrBadRequest), "bad-request", 400, api.ErrBadRequest},
		{api.ErrNotImplemented, "not-implemented", 501, api.ErrNotImplemented},
		{errors.New("disk on fire\nsecond line"), "internal", 500, api.ErrInternal},
		{&api.Error{Code: "conflict", Message: "chosen"}, "conflict", 409, api.ErrConflict},
	}
	for _, tc := range cases {
		f := newFake()
		f.err = tc.err
		s, dir, c := start(t, f, api.ServerOptions{})
		resp, b := raw(t, s, dir, "GET", "/v1/status", "", nil)
		wantError(t, tc.code, resp.StatusCode, b, tc.status, tc.code)

		check := func(route string, err error) {
			t.Helper()
			if !errors.Is(err, tc.is) {
				t.Errorf("%s: %v is not %v", route, err, tc.is)
			}
			var e *api.Error
			if !errors.As(err, &e) || e.Code != tc.code || e.Status != tc.status {
				t.Errorf("%s: %#v", route, err)
			}
			oneLine(t, err.Error())
			want := strings.ReplaceAll(tc.err.Error(), "\n", "; ")
			if err.Error() != want {
				t.Errorf("%s: message %q, want %q", route, err, want)
			}
		}
		ctx := context.Background()
		_, err := c.Status(ctx)
		check("status", err)
		_, err = c.Restore(ctx, api.RestoreRequest{Snapshot: "x", Target: "/x"})
		check("restore", err)
		_, err = c.Backup(ctx, api.BackupRequest{Paths: []string{"/x"}}, nil)
		check("backup", err)
	}
	// Every sentinel is one line.
	for _, e := range []error{api.ErrBadRequest, api.ErrUnauthorized, api.ErrForbidden, api.ErrNeedsRecoveryKey,
		api.ErrNeedsOperatorKey, api.ErrNotFound, api.ErrConflict, api.ErrInternal, api.ErrNotImplemented,
		api.ErrUnavailable, api.ErrNodeNotRunning} {
		oneLine(t, e.Error())
	}
}

// The server checks requests before the Backend sees them.
func TestBadRequests(t *testing.T) {
	f := newFake()
	s, dir, c := start(t, f, api.ServerOptions{})
	ctx := context.Background()
	calls := []struct {
		name string
		call func() error
	}{
		{"backup nothing", func() error { _, err := c.Backup(ctx, api.BackupRequest{}, nil); return err }},
		{"backup both", func() error {
			_, err := c.Backup(ctx, api.BackupRequest{Paths: []string{"/a"}, StdinName: "x", Stdin: strings.NewReader("")}, nil)
			return err
		}},
		{"backup stdin name", func() error {
			_, err := c.Backup(ctx, api.BackupRequest{StdinName: "../x", Stdin: strings.NewReader("")}, nil)
			return err
		}},
		{"ls no snapshot", func() error { _, err := c.Ls(ctx, api.LsRequest{}); return err }},
		{"restore no target", func() error { _, err := c.Restore(ctx, api.RestoreRequest{Snapshot: "x"}); return err }},
		{"forget keeps nothing", func() error { _, err := c.Forget(ctx, api.ForgetRequest{Prune: true}); return err }},
		{"forget negative", func() error { _, err := c.Forget(ctx, api.ForgetRequest{KeepLast: -1, KeepDaily: 2}); return err }},
		{"invite role", func() error { _, err := c.Invite(ctx, api.InviteRequest{Role: "admin"}); return err }},
		{"revoke nobody", func() error { _, err := c.Revoke(ctx, api.RevokeRequest{}); return err }},
		{"renew nobody", func() error { _, err := c.Renew(ctx, api.RenewRequest{For: api.Duration(time.Hour)}); return err }},
		{"renew for nothing", func() error { _, err := c.Renew(ctx, api.RenewRequest{PeerID: "12D3KooWa"}); return err }},
		{"operator add, no key", func() error { _, err := c.OperatorAdd(ctx, api.OperatorAddRequest{}); return err }},
		{"operator add, not hex", func() error {
			_, err := c.OperatorAdd(ctx, api.OperatorAddRequest{PublicKey: strings.Repeat("g", 64)})
			return err
		}},
		{"operator remove, no fingerprint", func() error { _, err := c.OperatorRemove(ctx, api.OperatorRemoveRequest{}); return err }},
		{"operator remove, a public key", func() error {
			_, err := c.OperatorRemove(ctx, api.OperatorRemoveRequest{Fingerprint: strings.Repeat("a", 64)})
			return err
		}},
		{"invite negative membership", func() error {
			_, err := c.Invite(ctx, api.InviteRequest{MemberFor: api.Duration(-time.Hour)})
			return err
		}},
	}
	for _, tc := range calls {
		err := tc.call()
		if !errors.Is(err, api.ErrBadRequest) {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		oneLine(t, err.Error())
	}
	raws := []struct{ path, body string }{
		{"/v1/backup", `{"paths":["relative/dir"]}`},
		{"/v1/restore", `{"snapshot":"x","target":"rel"}`},
		{"/v1/restore", `{"snapshot":"x","target":"/x","dry_run":true}`}, // unknown key: refused, not ignored
		{"/v1/restore", `{"snapshot":`},
		{"/v1/restore", `{"snapshot":"x","target":"/x"} {}`},
		{"/v1/ls", `{"snapshot":"x","recovery_key":"rk1-not-a-key"}`},
		{"/v1/ls", `{"snapshot":"x","recovery_key":42}`},
		{"/v1/invite", `{"ttl":"soon"}`},
	}
	for _, r := range raws {
		resp, b := raw(t, s, dir, "POST", r.path, r.body, nil)
		wantError(t, r.path+" "+r.body, resp.StatusCode, b, 400, "bad-request")
	}
	resp, b := raw(t, s, dir, "POST", "/v1/restore", `{"snapshot":"`+strings.Repeat("x", 2<<20)+`"}`, nil)
	wantError(t, "huge body", resp.StatusCode, b, http.StatusRequestEntityTooLarge, "bad-request")
	if len(f.calls) != 0 {
		t.Errorf("backend called with bad requests: %v", f.calls)
	}
}

// A recovery key with a typo is a bad request that names the group.
func TestRecoveryKeyTypo(t *testing.T) {
	s, dir, _ := start(t, newFake(), api.ServerOptions{})
	k := newKey(t).Reveal()
	i := strings.Index(k, "-") + 2 // a data character of group 1
	typo := k[:i] + swap(k[i]) + k[i+1:]
	resp, b := raw(t, s, dir, "POST", "/v1/ls", `{"snapshot":"x","recovery_key":"`+typo+`"}`, nil)
	wantError(t, "typo", resp.StatusCode, b, 400, "bad-request")
	if !strings.Contains(string(b), "group 1") {
		t.Errorf("typo answer does not name the group: %s", b)
	}
	if strings.Contains(string(b), typo) || strings.Contains(string(b), k) {
		t.Errorf("the answer repeats the key: %s", b)
	}
}

func swap(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}
