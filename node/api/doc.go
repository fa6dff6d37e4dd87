// Package api is the node's local HTTP API: the server the daemon runs on
// 127.0.0.1 and the Go client every other respaldo command reaches it
// through (as tailscale's CLI reaches ipn/localapi through client/local).
// It owns the wire types (one per command of the CLI.md contract, with
// exactly its JSON keys), the routes under /v1/, the bearer-token auth, the
// api.addr and api.token files, the error codes and their sentinel errors,
// the NDJSON progress stream of a backup, /metrics and the operator
// dashboard at /. docs/api.md describes the wire; this package is its only
// implementation.
//
// # Server
//
// The daemon implements Backend (one method per operation) and runs
//
//	s := api.NewServer(backend, opts) // opts.Validate refuses a non-loopback address
//	err := s.Start(ctx, dataDir)      // listens, writes DIR/api.token then DIR/api.addr
//	...
//	err = s.Shutdown(ctx)             // graceful; removes both files
//
// Operations that change the mesh (backup, forget, invite, revoke, drain)
// run under the server's context, not the request's: a client that goes
// away (a closed terminal) does not stop them. Queries, ls, restore and
// check follow the request's context. The server never logs request
// bodies, query strings or headers; recovery and operator keys travel only
// in request bodies, as RecoveryKey and Secret, which never print.
//
// # Client
//
//	c, err := api.Dial(dataDir) // ErrNodeNotRunning, with a one-line message, if no node answers
//	st, err := c.Status(ctx)
//
// Errors from the client are one line, meant for the user, and match the
// sentinels of errors.go under errors.Is (ErrNotFound, ErrNeedsRecoveryKey,
// ErrUnauthorized, ErrNodeNotRunning, ...).
//
// Of respaldo this package imports only crypto (to parse recovery keys); the
// daemon (package node) imports it, never the other way round.
package api
