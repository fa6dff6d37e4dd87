package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/node/roster"
)

// ErrExists: CreateMesh refuses a data dir that already belongs to a mesh.
var ErrExists = errors.New("node: this data dir already belongs to a mesh")

// Created is what CreateMesh reports.
type Created struct {
	PeerID   peer.ID       // this node's peer ID
	MeshID   roster.MeshID // the hash of the genesis entry
	Operator string        // the operator key's fingerprint (signed_by)
}

// CreateMesh sets up dir as the first node of a new mesh: it writes cfg to
// DIR/config.toml, makes the node identity, an operator key (saved 0600 in
// DIR/operator.key), the roster's genesis (pinning cfg.EC) and an admit
// entry for this node (role storage, zone, "default" if empty), and
// persists the roster in DIR/store. It does not start the node: Open does.
// The member and its recovery key (DIR/member.keys) are set up by the
// caller once that code exists.
func CreateMesh(ctx context.Context, dir string, cfg Config, zone string) (Created, error) {
	if err := cfg.Validate(); err != nil {
		return Created{}, err
	}
	if zone == "" {
		zone = "default"
	}
	for _, f := range []string{ConfigFile, OperatorFile, StoreDir} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return Created{}, fmt.Errorf("%w: %s exists", ErrExists, filepath.Join(dir, f))
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Created{}, fmt.Errorf("node: %w", err)
	}
	self, err := PeerIDOf(dir)
	if err != nil {
		return Created{}, err
	}
	op, err := roster.GenerateOperatorKey(rand.Reader)
	if err != nil {
		return Created{}, err
	}
	now := cfg.now()
	l, err := roster.Genesis(op, roster.Settings{EC: cfg.EC}, now)
	if err != nil {
		return Created{}, err
	}
	adm := roster.Admission{Peer: roster.PeerID(self.String()), Zone: roster.Zone(zone), Role: roster.RoleStorage}
	if _, err := l.Admit(op, adm, now); err != nil {
		return Created{}, err
	}
	if err := SaveOperatorKey(dir, op); err != nil {
		return Created{}, err
	}
	if err := WriteRoster(ctx, dir, l); err != nil {
		return Created{}, err
	}
	// The config goes last: its presence marks a finished setup.
	if err := SaveConfig(dir, cfg); err != nil {
		return Created{}, err
	}
	return Created{PeerID: self, MeshID: l.MeshID(), Operator: op.Public().Fingerprint()}, nil
}
