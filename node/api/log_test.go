package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"respaldo/node/api"
)

// A recovery key sent to any route never reaches the server's log, neither
// when the call succeeds nor when it fails; nor does the token. And the
// request types do not print their keys.
func TestKeysNeverLogged(t *testing.T) {
	logs := newSyncBuffer()
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	key := newKey(t)
	secret := key.Reveal()
	groups := strings.Split(secret, "-")[1:]
	rk := api.NewRecoveryKey(key)
	op := api.NewSecret("operator-secret-ABCDEFGH")
	ctx := context.Background()

	for _, fail := range []error{nil, api.ErrNeedsRecoveryKey, fmt.Errorf("disk on fire")} {
		f := newFake()
		f.err = fail
		s, dir, c := start(t, f, api.ServerOptions{Logger: log})
		c.Snapshots(ctx, api.SnapshotsRequest{RecoveryKey: rk})
		c.Ls(ctx, api.LsRequest{Snapshot: "x", RecoveryKey: rk})
		c.Restore(ctx, api.RestoreRequest{Snapshot: "x", Target: "/x", RecoveryKey: rk})
		c.Check(ctx, api.CheckRequest{ReadData: true, RecoveryKey: rk})
		c.Forget(ctx, api.ForgetRequest{KeepLast: 1, Prune: true, RecoveryKey: rk})
		c.Invite(ctx, api.InviteRequest{OperatorKey: op})
		c.Revoke(ctx, api.RevokeRequest{PeerID: "p", OperatorKey: op})
		// Bad requests that carry a key: a typo, an unknown field, a wrong route.
		raw(t, s, dir, "POST", "/v1/ls", `{"snapshot":"x","recovery_key":"`+secret[:len(secret)-1]+`"}`, nil)
		raw(t, s, dir, "POST", "/v1/ls", `{"snapshot":"x","recovery_key":"`+secret+`","nope":1}`, nil)
		raw(t, s, dir, "POST", "/v1/status", `{"recovery_key":"`+secret+`"}`, nil)
		raw(t, s, dir, "POST", "/v1/nowhere", `{"recovery_key":"`+secret+`"}`, nil)
		raw(t, s, dir, "GET", "/login?code="+groups[0], "", nil)
		token := readToken(t, dir)

		out := logs.String()
		if !strings.Contains(out, `"path":"/v1/restore"`) {
			t.Fatalf("the log does not show requests; the test sees nothing:\n%s", out)
		}
		for _, g := range append(groups, token, op.Reveal()) {
			if strings.Contains(out, g) {
				t.Fatalf("the server's log holds a secret (%q):\n%s", g, out)
			}
		}
	}

	// The request types print without their keys, however printed.
	req := api.RestoreRequest{Snapshot: "x", Target: "/x", RecoveryKey: rk}
	inv := api.InviteRequest{OperatorKey: op}
	var b strings.Builder
	fmt.Fprintf(&b, "%v %+v %#v %s %x %q %v %+v %#v", req, req, req, rk, rk, rk, inv, inv, inv)
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "key", rk, "op", op, "req", req, "inv", inv)
	slog.New(slog.NewJSONHandler(&b, nil)).Info("x", "key", rk, "op", op, "req", req, "inv", inv,
		"ls", api.LsRequest{RecoveryKey: rk}, "check", api.CheckRequest{RecoveryKey: rk},
		"forget", api.ForgetRequest{RecoveryKey: rk}, "snaps", api.SnapshotsRequest{RecoveryKey: rk},
		"revoke", api.RevokeRequest{OperatorKey: op})
	for _, g := range append(groups, op.Reveal()) {
		if strings.Contains(b.String(), g) {
			t.Fatalf("printing a request shows a secret: %s", b.String())
		}
	}
	// Only the JSON form carries the key.
	j, _ := json.Marshal(req)
	if !strings.Contains(string(j), secret) {
		t.Errorf("JSON of the request lacks the key: %s", j)
	}
}
