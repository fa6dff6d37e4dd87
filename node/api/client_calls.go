package api

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
)

// One method per route; see docs/api.md.

// Status is GET /v1/status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var v Status
	return v, c.call(ctx, http.MethodGet, "/v1/status", quickTimeout, nil, &v)
}

// Peers is GET /v1/peers.
func (c *Client) Peers(ctx context.Context) ([]Peer, error) {
	var v []Peer
	return v, c.call(ctx, http.MethodGet, "/v1/peers", quickTimeout, nil, &v)
}

// Roster is GET /v1/roster.
func (c *Client) Roster(ctx context.Context) ([]RosterEntry, error) {
	var v []RosterEntry
	return v, c.call(ctx, http.MethodGet, "/v1/roster", quickTimeout, nil, &v)
}

// Invite is POST /v1/invite.
func (c *Client) Invite(ctx context.Context, req InviteRequest) (Invite, error) {
	var v Invite
	return v, c.call(ctx, http.MethodPost, "/v1/invite", meshTimeout, req, &v)
}

// Revoke is POST /v1/revoke.
func (c *Client) Revoke(ctx context.Context, req RevokeRequest) (RevokeResult, error) {
	var v RevokeResult
	return v, c.call(ctx, http.MethodPost, "/v1/revoke", meshTimeout, req, &v)
}

// Renew is POST /v1/renew.
func (c *Client) Renew(ctx context.Context, req RenewRequest) (RenewResult, error) {
	var v RenewResult
	return v, c.call(ctx, http.MethodPost, "/v1/renew", meshTimeout, req, &v)
}

// OperatorAdd is POST /v1/operator-add.
func (c *Client) OperatorAdd(ctx context.Context, req OperatorAddRequest) (OperatorResult, error) {
	var v OperatorResult
	return v, c.call(ctx, http.MethodPost, "/v1/operator-add", meshTimeout, req, &v)
}

// OperatorRemove is POST /v1/operator-remove.
func (c *Client) OperatorRemove(ctx context.Context, req OperatorRemoveRequest) (OperatorResult, error) {
	var v OperatorResult
	return v, c.call(ctx, http.MethodPost, "/v1/operator-remove", meshTimeout, req, &v)
}

// Drain is POST /v1/drain; it waits until the node has moved what it can.
func (c *Client) Drain(ctx context.Context) (DrainResult, error) {
	var v DrainResult
	return v, c.call(ctx, http.MethodPost, "/v1/drain", 0, struct{}{}, &v)
}

// Snapshots is POST /v1/snapshots.
func (c *Client) Snapshots(ctx context.Context, req SnapshotsRequest) ([]Snapshot, error) {
	var v []Snapshot
	return v, c.call(ctx, http.MethodPost, "/v1/snapshots", 0, req, &v)
}

// Ls is POST /v1/ls.
func (c *Client) Ls(ctx context.Context, req LsRequest) ([]LsEntry, error) {
	var v []LsEntry
	return v, c.call(ctx, http.MethodPost, "/v1/ls", 0, req, &v)
}

// Restore is POST /v1/restore. A relative Target is made absolute against
// the caller's working directory.
func (c *Client) Restore(ctx context.Context, req RestoreRequest) (RestoreResult, error) {
	if req.Target != "" {
		t, err := filepath.Abs(req.Target)
		if err != nil {
			return RestoreResult{}, err
		}
		req.Target = t
	}
	var v RestoreResult
	return v, c.call(ctx, http.MethodPost, "/v1/restore", 0, req, &v)
}

// Check is POST /v1/check.
func (c *Client) Check(ctx context.Context, req CheckRequest) (CheckResult, error) {
	var v CheckResult
	return v, c.call(ctx, http.MethodPost, "/v1/check", 0, req, &v)
}

// Forget is POST /v1/forget.
func (c *Client) Forget(ctx context.Context, req ForgetRequest) (ForgetResult, error) {
	var v ForgetResult
	return v, c.call(ctx, http.MethodPost, "/v1/forget", 0, req, &v)
}

// DashboardLink is POST /v1/dashboard-link: a one-time link to the
// dashboard, signed in.
func (c *Client) DashboardLink(ctx context.Context) (DashboardLink, error) {
	var v DashboardLink
	return v, c.call(ctx, http.MethodPost, "/v1/dashboard-link", quickTimeout, struct{}{}, &v)
}

// absPaths returns ps made absolute against the working directory.
func absPaths(ps []string) ([]string, error) {
	out := slices.Clone(ps)
	for i, p := range out {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}
