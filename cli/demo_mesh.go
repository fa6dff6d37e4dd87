package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"respaldo/crypto"
	"respaldo/node"
	"respaldo/node/roster"
)

// demoMesh is the demo's mesh: real nodes on 127.0.0.1, each with its own
// data folder, libp2p host, store and DHT, in this process. Node 0 is the
// member's node (it created the mesh and holds the operator key); the
// storage nodes joined it with invites.
type demoMesh struct {
	dirs  []string
	nodes []*node.Node
	stops []context.CancelFunc
	dones []chan struct{}
	rk    crypto.RecoveryKey
}

// demoZones spreads the storage nodes over three sites.
var demoZones = []string{"office", "squat", "datacentre"}

func demoNodeConfig(ec string) node.Config {
	c := node.DefaultConfig()
	c.Listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	c.API = "127.0.0.1:0"
	c.EC = ec
	c.Heartbeat = time.Second // a node busy backing up may miss a beat; 3 s before it counts as away
	c.NATPortMap = false
	c.MemoryLimit = -1 // the demo's process holds every node: no per-node limit
	return c
}

// startDemoMesh makes the member's node and n storage nodes under dir.
func startDemoMesh(ctx context.Context, dir string, n int, ec string, log *slog.Logger) (_ *demoMesh, err error) {
	m := &demoMesh{}
	defer func() {
		if err != nil {
			m.close()
		}
	}()
	cfg := demoNodeConfig(ec)
	d0 := filepath.Join(dir, "member-node")
	if _, err := node.CreateMesh(ctx, d0, cfg, "home"); err != nil {
		return nil, fmt.Errorf("creating the mesh: %w", err)
	}
	op, err := node.LoadOperatorKey(d0)
	if err != nil {
		return nil, err
	}
	if m.rk, err = node.SetupMember(d0, "demo-laptop"); err != nil {
		return nil, err
	}
	n0, err := node.Open(ctx, d0, cfg, log)
	if err != nil {
		return nil, err
	}
	m.add(d0, n0)
	for i := range n {
		inv, err := n0.Invite(ctx, op, demoZones[i%len(demoZones)], string(roster.RoleStorage), 10*time.Minute)
		if err != nil {
			return nil, fmt.Errorf("invite: %w", err)
		}
		di := filepath.Join(dir, fmt.Sprintf("storage-%d", i+1))
		ni, err := node.Join(ctx, di, cfg, inv, log)
		if err != nil {
			return nil, fmt.Errorf("storage node %d joining: %w", i+1, err)
		}
		m.add(di, ni)
	}
	return m, m.waitLive(ctx, n, 30*time.Second)
}

func (m *demoMesh) add(dir string, n *node.Node) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = n.Run(ctx)
	}()
	m.dirs, m.nodes = append(m.dirs, dir), append(m.nodes, n)
	m.stops, m.dones = append(m.stops, cancel), append(m.dones, done)
}

// waitLive waits until the member's node sees want storage peers live.
func (m *demoMesh) waitLive(ctx context.Context, want int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		live := 0
		for _, p := range m.nodes[0].Peers() {
			if p.Live && p.Role == roster.RoleStorage {
				live++
			}
		}
		if live >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d storage nodes live after %v", live, want, d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop closes node i (its machine is gone); lose also deletes its disk.
func (m *demoMesh) stop(i int) error {
	if m.nodes[i] == nil {
		return nil
	}
	m.stops[i]()
	<-m.dones[i]
	err := m.nodes[i].Close()
	m.nodes[i] = nil
	return err
}

func (m *demoMesh) lose(i int) error {
	return errors.Join(m.stop(i), os.RemoveAll(m.dirs[i]))
}

func (m *demoMesh) close() {
	for i := len(m.nodes) - 1; i >= 0; i-- {
		_ = m.stop(i)
	}
}
