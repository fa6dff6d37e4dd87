package node

import (
	"context"
	"strings"

	"respaldo/node/api"
	"respaldo/node/roster"
)

// Operator keys: a mesh should have at least two, on different people's
// machines, so that a key on a seized machine can be removed with another
// (docs/seizure.md, "A stolen operator key").

// AddOperator appends an add-operator entry making pub an operator, signed
// by op, persisted and spread. Errors wrap the api sentinels: op not an
// operator (ErrForbidden), pub one already or the mesh at its limit of
// operators (ErrConflict).
func (n *Node) AddOperator(ctx context.Context, op roster.OperatorKey, pub roster.OperatorPub) (*roster.Entry, error) {
	if err := n.checkOperator(ctx, "operator add", op); err != nil {
		return nil, err
	}
	e, err := n.change(func(l *roster.Log) (*roster.Entry, error) {
		return l.AddOperator(op, pub, n.now())
	})
	if err != nil {
		return nil, rosterErr(err, api.ErrConflict) // an operator already, or too many
	}
	n.log.Info("operator added", "operator", pub.Fingerprint(), "by", op.Public().Fingerprint(), "seq", e.Seq)
	return e, nil
}

// RemoveOperator appends a remove-operator entry for the operator whose
// key has the given fingerprint, signed by op (which may be that key),
// persisted and spread: from then on every node refuses entries it signs.
// Entries it signed before stay. The last operator cannot be removed
// (ErrConflict); an unknown fingerprint is ErrNotFound.
func (n *Node) RemoveOperator(ctx context.Context, op roster.OperatorKey, fingerprint string) (*roster.Entry, error) {
	if err := n.checkOperator(ctx, "operator remove", op); err != nil {
		return nil, err
	}
	fingerprint = strings.ToLower(fingerprint)
	var gone roster.OperatorPub
	e, err := n.change(func(l *roster.Log) (*roster.Entry, error) {
		for _, p := range l.Operators() {
			if p.Fingerprint() == fingerprint {
				gone = p
				return l.RemoveOperator(op, p, n.now())
			}
		}
		return nil, opErr(api.ErrNotFound, "operator remove: no operator key %s in this mesh (see SIGNED BY in 'respaldo roster')", fingerprint)
	})
	if err != nil {
		return nil, rosterErr(err, api.ErrConflict) // the last operator
	}
	n.log.Info("operator removed", "operator", gone.Fingerprint(), "by", op.Public().Fingerprint(), "seq", e.Seq)
	return e, nil
}

// operatorsNow lists the fingerprints of the current operators.
func (n *Node) operatorsNow() []string {
	ops := n.roster.Operators()
	out := make([]string, len(ops))
	for i, p := range ops {
		out[i] = p.Fingerprint()
	}
	return out
}

// operatorAddAPI is the API's POST /v1/operator-add.
func (n *Node) operatorAddAPI(ctx context.Context, req api.OperatorAddRequest) (api.OperatorResult, error) {
	pub, err := roster.ParseOperatorPub(strings.ToLower(req.PublicKey))
	if err != nil {
		return api.OperatorResult{}, opErr(api.ErrBadRequest, "operator add: %v", err)
	}
	op, err := n.operatorKey(req.OperatorKey)
	if err != nil {
		return api.OperatorResult{}, err
	}
	e, err := n.AddOperator(ctx, op, pub)
	if err != nil {
		return api.OperatorResult{}, err
	}
	return api.OperatorResult{Fingerprint: pub.Fingerprint(), Operators: n.operatorsNow(), Seq: e.Seq}, nil
}

// operatorRemoveAPI is the API's POST /v1/operator-remove.
func (n *Node) operatorRemoveAPI(ctx context.Context, req api.OperatorRemoveRequest) (api.OperatorResult, error) {
	op, err := n.operatorKey(req.OperatorKey)
	if err != nil {
		return api.OperatorResult{}, err
	}
	e, err := n.RemoveOperator(ctx, op, req.Fingerprint)
	if err != nil {
		return api.OperatorResult{}, err
	}
	return api.OperatorResult{Fingerprint: strings.ToLower(req.Fingerprint), Operators: n.operatorsNow(), Seq: e.Seq}, nil
}
