package node_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"respaldo/node/api"
	"respaldo/node/roster"
	"respaldo/node/testmesh"
)

// An operator adds a second operator key; the entry spreads, and another
// node accepts entries the new key signs. With it, the first key (say, on
// a seized machine) is removed through another node's API: from then on
// nothing it signs is accepted. The last operator cannot be removed, and
// refusals say why.
func TestOperatorAddRemove(t *testing.T) {
	m := testmesh.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), testmesh.Scale(time.Minute))
	defer cancel()
	n0 := m.Nodes[0].Node
	second, err := roster.GenerateOperatorKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secretOf := func(k roster.OperatorKey) api.Secret {
		seed := k.Seed()
		return api.NewSecret(hex.EncodeToString(seed[:]))
	}
	be1 := m.Nodes[1].APIBackend()
	res, err := m.Nodes[0].APIBackend().OperatorAdd(ctx, api.OperatorAddRequest{PublicKey: second.Public().String()})
	if err != nil {
		t.Fatal(err)
	}
	first := m.Operator.Public().Fingerprint()
	if res.Fingerprint != second.Public().Fingerprint() || !slices.Equal(res.Operators, []string{first, res.Fingerprint}) {
		t.Fatalf("operator add: %+v", res)
	}
	// The entry reaches node 1, whose roster lists it with the new key.
	waitFor(t, 30*time.Second, "node 1 lists the add-operator entry", func() error {
		es, err := be1.Roster(ctx)
		if err == nil && !slices.ContainsFunc(es, func(e api.RosterEntry) bool {
			return e.Kind == string(roster.KindAddOperator) && e.Operator == res.Fingerprint && e.SignedBy == first
		}) {
			err = errors.New("not yet")
		}
		return err
	})
	if _, err := m.Nodes[1].InviteMember(ctx, second, "z9", "client", time.Minute, 0); err != nil {
		t.Fatalf("node 1 refuses an invite signed by the new operator key: %v", err)
	}

	// Refusals.
	if _, err := n0.AddOperator(ctx, m.Operator, second.Public()); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("adding an operator twice: %v", err)
	}
	outsider, _ := roster.GenerateOperatorKey(rand.Reader)
	if _, err := n0.AddOperator(ctx, outsider, outsider.Public()); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("a key that is no operator adds itself: %v", err)
	}
	if _, err := be1.OperatorRemove(ctx, api.OperatorRemoveRequest{Fingerprint: "00000000000000aa", OperatorKey: secretOf(second)}); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("removing an unknown fingerprint: %v", err)
	}

	// The first key is removed with the second, on node 1.
	rm, err := be1.OperatorRemove(ctx, api.OperatorRemoveRequest{Fingerprint: first, OperatorKey: secretOf(second)})
	if err != nil {
		t.Fatal(err)
	}
	if rm.Fingerprint != first || !slices.Equal(rm.Operators, []string{second.Public().Fingerprint()}) {
		t.Fatalf("operator remove: %+v", rm)
	}
	// Wait on what node 0 lists, not by signing there: an entry signed on
	// node 0 meanwhile would fork the log.
	be0 := m.Nodes[0].APIBackend()
	waitFor(t, 30*time.Second, "node 0 lists the remove-operator entry", func() error {
		es, err := be0.Roster(ctx)
		if err == nil && !slices.ContainsFunc(es, func(e api.RosterEntry) bool {
			return e.Kind == string(roster.KindRemoveOperator) && e.Operator == first
		}) {
			err = errors.New("not yet")
		}
		return err
	})
	if _, err := n0.InviteMember(ctx, m.Operator, "z9", "client", time.Minute, 0); err == nil {
		t.Fatal("node 0 still takes the removed key")
	}
	if _, err := n0.AddOperator(ctx, m.Operator, outsider.Public()); !errors.Is(err, api.ErrForbidden) {
		t.Fatalf("the removed key adds an operator: %v", err)
	}
	if _, err := be1.OperatorRemove(ctx, api.OperatorRemoveRequest{Fingerprint: second.Public().Fingerprint(), OperatorKey: secretOf(second)}); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("removing the last operator: %v", err)
	}
}
