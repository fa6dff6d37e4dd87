package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/node/api"
	"respaldo/node/roster"
)

// Revocation (respaldo revoke PEER_ID). The entry is signed, persisted and
// spread by RevokePeer (rostersync.go). On every node the roster change
// (rosterChanged) then closes every connection to the peer at once (the
// gater refuses its dials and handshakes from then on, and RequireMember
// any stream on a connection that slipped through), drops it from the peer
// table, and wakes the repair loop: the planner counts a revoked holder's
// copies as gone with no grace (repair.Copy.Revoked), so its stripes are
// rebuilt in the very next pass. docs/seizure.md tells the operator's side.

// RevokeWindow is the time over which `respaldo revoke` counts storage
// revocations: more than m of them (m of the mesh's k+m) within it need
// --force.
const RevokeWindow = 24 * time.Hour

// ErrRevokeStorm: the revocation would make more than m storage nodes
// revoked within RevokeWindow, and it was not forced.
var ErrRevokeStorm = errors.New("too many storage nodes revoked at once")

// RevokeOptions are respaldo revoke's flags.
type RevokeOptions struct {
	Reason string // kept in the entry (at most roster.MaxReasonLen bytes, one line)
	// Force allows more than m storage revocations within RevokeWindow.
	Force bool
}

// Revoke revokes p with op (an operator key of the mesh) after the checks
// the CLI promises: p is not this node, is known to the roster and not yet
// revoked, and — unless opt.Force — revoking it does not make more than m
// storage nodes revoked within RevokeWindow (counted on the log the entry
// is appended to, so two concurrent revocations cannot both slip under
// the limit). Errors wrap the api sentinels that pick their wire code.
func (n *Node) Revoke(ctx context.Context, op roster.OperatorKey, p peer.ID, opt RevokeOptions) (*roster.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p == n.self {
		return nil, opErr(api.ErrBadRequest, "revoke: %s is this node; revoke it from another operator's node (or drain it and stop it)", p)
	}
	if err := n.checkOperator(ctx, "revoke", op); err != nil {
		return nil, err
	}
	id := roster.PeerID(p.String())
	e, err := n.change(func(l *roster.Log) (*roster.Entry, error) {
		m, st := l.Member(id, n.now())
		switch st {
		case roster.Unknown:
			return nil, opErr(api.ErrNotFound, "revoke: no peer %s in this mesh's roster (see 'respaldo roster')", p)
		case roster.Revoked:
			return nil, opErr(api.ErrConflict, "revoke: %s is already revoked (since %s)", p,
				m.Revoked.UTC().Format(time.RFC3339))
		}
		if m.Role == roster.RoleStorage && !opt.Force {
			if err := n.stormCheck(l, p); err != nil {
				return nil, err
			}
		}
		return l.Revoke(op, id, opt.Reason, n.now())
	})
	if err != nil {
		return nil, rosterErr(err, api.ErrBadRequest)
	}
	n.log.Warn("peer revoked", "peer", p, "reason", opt.Reason, "forced", opt.Force, "seq", e.Seq)
	return e, nil
}

// stormCheck refuses the revocation of storage peer p when, with it, more
// than m storage peers would be revoked within RevokeWindow on l.
func (n *Node) stormCheck(l *roster.Log, p peer.ID) error {
	ec := l.EC()
	par, err := n.ecParams()
	if err == nil {
		ec = fmt.Sprintf("%d+%d", par.K, par.M)
	} else if _, par.M, err = roster.ParseEC(ec); err != nil {
		return err
	}
	count := 1 // this one
	for _, r := range l.RevocationsSince(n.now().Add(-RevokeWindow)) {
		if r.Role == roster.RoleStorage {
			count++
		}
	}
	if count <= par.M {
		return nil
	}
	return opErr(api.ErrForbidden, "revoke: %w: %s would be storage node number %d revoked within %d hours, more than m = %d of this mesh's %s "+
		"(the shards of each are rebuilt at once); if that is what you mean, run it again with --force",
		ErrRevokeStorm, p, count, int(RevokeWindow.Hours()), par.M, ec)
}

// operatorKey is the operator key of a request: the one it carries
// (--operator-key F), else this node's DIR/operator.key.
func (n *Node) operatorKey(given api.Secret) (roster.OperatorKey, error) {
	var op roster.OperatorKey
	var err error
	if !given.IsZero() {
		op, err = ParseOperatorKey(given.Reveal())
	} else if op, err = LoadOperatorKey(n.dir); errors.Is(err, fs.ErrNotExist) {
		return op, opErr(api.ErrNeedsOperatorKey, "this node holds no operator key (%s); run this on an operator's node, or pass --operator-key FILE", OperatorFile)
	}
	if err != nil {
		return op, opErr(api.ErrBadRequest, "%v", err)
	}
	return op, nil
}

// parsePeer reads a peer ID given to a command.
func parsePeer(verb, s string) (peer.ID, error) {
	p, err := peer.Decode(s)
	if err != nil {
		return "", opErr(api.ErrBadRequest, "%s: %q is not a peer ID (as 'respaldo peers' or 'respaldo roster --json' lists them)", verb, s)
	}
	return p, nil
}

// revoke is the API's POST /v1/revoke.
func (n *Node) revokeAPI(ctx context.Context, req api.RevokeRequest) (api.RevokeResult, error) {
	p, err := parsePeer("revoke", req.PeerID)
	if err != nil {
		return api.RevokeResult{}, err
	}
	if p == n.self { // before asking for a key: the answer does not depend on it
		_, err := n.Revoke(ctx, roster.OperatorKey{}, p, RevokeOptions{})
		return api.RevokeResult{}, err
	}
	op, err := n.operatorKey(req.OperatorKey)
	if err != nil {
		return api.RevokeResult{}, err
	}
	if _, err := n.Revoke(ctx, op, p, RevokeOptions{Reason: req.Reason, Force: req.Force}); err != nil {
		return api.RevokeResult{}, err
	}
	return api.RevokeResult{Revoked: p.String()}, nil
}

// opErr is an error of an operator command: its message is the format's,
// one line, as the user sees it; errors.Is matches kind (the api sentinel
// that picks the wire code) and whatever the format wraps with %w.
// checkOperator refuses, for verb, a key that is not an operator of the
// mesh (ErrForbidden), before any entry is built.
func (n *Node) checkOperator(ctx context.Context, verb string, op roster.OperatorKey) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !n.roster.IsOperator(op.Public()) {
		return opErr(api.ErrForbidden, "%s: the operator key %s is not an operator of this mesh", verb, op.Public().Fingerprint())
	}
	return nil
}

// rosterErr gives the roster's refusal of an entry the api sentinel the user
// sees: badEntry for a rule it breaks, ErrForbidden for a signer that is no
// operator; other errors (already an api error, or internal) pass as they are.
func rosterErr(err, badEntry error) error {
	switch {
	case errors.Is(err, roster.ErrBadEntry):
		return opErr(badEntry, "%v", err)
	case errors.Is(err, roster.ErrNotOperator):
		return opErr(api.ErrForbidden, "%v", err)
	}
	return err
}

func opErr(kind error, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}

type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }
