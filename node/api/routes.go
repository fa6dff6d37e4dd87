package api

import (
	"context"
	"net/http"
)

var (
	getOnly  = []string{http.MethodGet, http.MethodHead}
	postOnly = []string{http.MethodPost}
	getPost  = []string{http.MethodGet, http.MethodHead, http.MethodPost}
)

// routes is the API by path. docs/api.md lists them.
func (s *Server) routes() map[string]route {
	b := s.b
	return map[string]route{
		"/v1/status":          {getOnly, reader, get(b.Status)},
		"/v1/peers":           {getOnly, reader, get(b.Peers)},
		"/v1/roster":          {getOnly, reader, get(b.Roster)},
		"/v1/invite":          {postOnly, bearer, post(s.opsCtx, checkInvite, b.Invite)},
		"/v1/revoke":          {postOnly, bearer, post(s.opsCtx, checkRevoke, b.Revoke)},
		"/v1/renew":           {postOnly, bearer, post(s.opsCtx, checkRenew, b.Renew)},
		"/v1/operator-add":    {postOnly, bearer, post(s.opsCtx, checkOperatorAdd, b.OperatorAdd)},
		"/v1/operator-remove": {postOnly, bearer, post(s.opsCtx, checkOperatorRemove, b.OperatorRemove)},
		"/v1/drain":           {postOnly, bearer, post(s.opsCtx, nil, func(ctx context.Context, _ struct{}) (DrainResult, error) { return b.Drain(ctx) })},
		"/v1/backup":          {postOnly, bearer, s.backup},
		"/v1/snapshots":       {getPost, bearer, post(requestCtx, nil, b.Snapshots)},
		"/v1/ls":              {postOnly, bearer, post(requestCtx, checkLs, b.Ls)},
		"/v1/restore":         {postOnly, bearer, post(requestCtx, checkRestore, b.Restore)},
		"/v1/check":           {postOnly, bearer, post(requestCtx, nil, b.Check)},
		"/v1/forget":          {postOnly, bearer, post(s.opsCtx, checkForget, b.Forget)},
		"/v1/dashboard-link":  {postOnly, bearer, s.dashboardLink},
		"/metrics":            {getOnly, s.metricsAccess(), s.metrics},
		"/":                   {getOnly, open, s.dashboard},
		"/login":              {[]string{http.MethodGet}, open, s.login}, // HEAD would spend the code
	}
}

// opsCtx is the ctx of operations that outlive their request (Backend).
func (s *Server) opsCtx(*http.Request) context.Context { return s.ops }
