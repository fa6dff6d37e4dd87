package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/dht"
	"respaldo/node/roster"
	"respaldo/node/store"
)

// ErrInviteExpired: the invite's expiry has passed at the joining node;
// the error reads "invite expired at <time>".
var ErrInviteExpired = errors.New("invite expired")

// MeshMismatchError: the data dir already belongs to another mesh than the
// invite's. errors.Is(err, ErrJoinWrongMesh) holds.
type MeshMismatchError struct{ Invite, Node roster.MeshID }

func (e *MeshMismatchError) Error() string {
	return fmt.Sprintf("invite is for mesh %s, this node belongs to %s", e.Invite, e.Node)
}

func (e *MeshMismatchError) Unwrap() error { return ErrJoinWrongMesh }

// Join sets dir up as a node of inv's mesh and opens it: it checks the
// invite's expiry (by cfg's clock) before dialing anyone, makes the node
// identity, dials the inviter from a temporary host whose gater lets in the
// inviter alone, trades the token for the roster (JoinProtocol), persists
// that roster and then cfg (config.toml last: it marks a finished setup),
// Opens the node and connects it to the inviter. The caller runs Run.
// A dir that already holds a roster of the same mesh is just opened; of
// another mesh, refused (*MeshMismatchError). Zone and role come from the
// roster. logger may be nil.
func Join(ctx context.Context, dir string, cfg Config, inv Invite, logger *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, err := inv.wire(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if !cfg.now().Before(inv.Expiry) {
		return nil, fmt.Errorf("%w at %s", ErrInviteExpired, inv.Expiry.UTC().Format(time.RFC3339))
	}
	switch mesh, err := meshOf(ctx, dir); {
	case err == nil && mesh == inv.Mesh:
		return Open(ctx, dir, cfg, logger)
	case err == nil:
		return nil, &MeshMismatchError{Invite: inv.Mesh, Node: mesh}
	case !errors.Is(err, ErrNoRoster):
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	key, err := LoadOrCreateIdentity(dir)
	if err != nil {
		return nil, err
	}
	l, err := joinOver(ctx, key, inv)
	if err != nil {
		return nil, err
	}
	self, _ := peer.IDFromPrivateKey(key)
	if _, st := l.Member(roster.PeerID(self.String()), cfg.now()); st != roster.Admitted {
		return nil, fmt.Errorf("join: the inviter's roster does not admit this node (%s)", st)
	}
	if err := WriteRoster(ctx, dir, l); err != nil {
		return nil, err
	}
	if err := SaveConfig(dir, cfg); err != nil {
		return nil, err
	}
	n, err := Open(ctx, dir, cfg, logger)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	if err := n.Connect(cctx, inv.AddrInfo()); err != nil {
		n.log.Warn("joined, but cannot connect to the inviter yet", "err", err)
	}
	return n, nil
}

// meshOf reads the mesh ID of dir's roster; ErrNoRoster when dir has none
// (no store, or a store without a roster: an unfinished setup).
func meshOf(ctx context.Context, dir string) (roster.MeshID, error) {
	if _, err := os.Stat(filepath.Join(dir, StoreDir)); errors.Is(err, os.ErrNotExist) {
		return roster.MeshID{}, ErrNoRoster
	}
	st, err := store.Open(filepath.Join(dir, StoreDir), store.DefaultOptions())
	if err != nil {
		return roster.MeshID{}, err
	}
	l, err := loadRoster(ctx, st.Records())
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return roster.MeshID{}, err
	}
	return l.MeshID(), nil
}

// joinOver runs the join protocol from a temporary host with key, whose
// gater allows the inviter alone (and the relays of the invite's relayed
// addresses, to reach the inviter through them), and closes the host. A
// relayed connection is limited (libp2p's relay caps time and bytes): the
// exchange is allowed over it.
func joinOver(ctx context.Context, key p2pcrypto.PrivKey, inv Invite) (*roster.Log, error) {
	allowed := map[peer.ID]bool{inv.Inviter: true}
	for _, a := range inv.Addrs {
		if r, ok := relayOf(a); ok {
			allowed[r] = true
		}
	}
	hc := dht.DefaultHostConfig()
	hc.Key, hc.NATPortMap, hc.UserAgent = key, false, "respaldo/"+Version
	hc.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0"}
	hc.Gater = dht.NewAllowList(func(p peer.ID) bool { return allowed[p] }, nil)
	h, err := dht.NewHost(ctx, hc)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*joinTimeout)
	defer cancel()
	ctx = network.WithAllowLimitedConn(ctx, "respaldo join")
	if err := h.Connect(ctx, inv.AddrInfo()); err != nil {
		return nil, fmt.Errorf("join: cannot reach the inviter %s: %w", inv.Inviter, err)
	}
	s, err := h.NewStream(ctx, inv.Inviter, JoinProtocol)
	if err != nil {
		return nil, fmt.Errorf("join: the inviter %s refused the connection (join window closed?): %w", inv.Inviter, err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(joinTimeout))
	l, err := joinExchange(s, inv)
	if err != nil {
		_ = s.Reset()
	}
	return l, err
}
