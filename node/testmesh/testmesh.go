// Package testmesh runs a whole mesh of real nodes in one test: libp2p
// hosts on 127.0.0.1 in temp dirs, started, stopped and restarted at will.
// Node 0 creates the mesh and holds the operator key; the others are
// admitted by it directly (the join protocol is not used yet: each gets
// node 0's roster on disk before it first opens). Timeouts scale with the
// environment variable RESPALDO_TEST_TIMESCALE (a float, default 1).
package testmesh

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/node"
	"respaldo/node/mesh"
	"respaldo/node/roster"
)

// Scale stretches d by RESPALDO_TEST_TIMESCALE.
func Scale(d time.Duration) time.Duration {
	if f, err := strconv.ParseFloat(os.Getenv("RESPALDO_TEST_TIMESCALE"), 64); err == nil && f > 0 {
		return time.Duration(float64(d) * f)
	}
	return d
}

// Config is the configuration every node of a test mesh starts from:
// 127.0.0.1 only (TCP and QUIC, port 0), API port 0, 200 ms heartbeats,
// no NAT port mapping.
func Config() node.Config {
	c := node.DefaultConfig()
	c.Listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	c.API = "127.0.0.1:0"
	c.Heartbeat = 200 * time.Millisecond
	c.NATPortMap = false
	return c
}

// Mesh is a running test mesh. Its methods must be called from the test's
// goroutine.
type Mesh struct {
	t         testing.TB
	Operator  roster.OperatorKey // node 0's operator key
	Nodes     []*Member
	configure func(i int, c *node.Config) // StartWith's; nil: Config() as is
}

// Member is one node of the mesh. Node is nil while it is stopped.
type Member struct {
	*node.Node
	Dir  string
	ID   peer.ID
	Zone roster.Zone
	stop func()
}

// Start creates a mesh of n storage nodes (zones z0, z1, …), connects every
// node to node 0, waits until every node sees every other live, and stops
// them all when the test ends.
func Start(t testing.TB, n int) *Mesh {
	t.Helper()
	return StartWith(t, n, nil)
}

// StartWith is Start with configure applied to node i's Config() every
// time node i is created or opened (so through Restart too); nil is Start.
func StartWith(t testing.TB, n int, configure func(i int, c *node.Config)) *Mesh {
	t.Helper()
	ctx := context.Background()
	m := &Mesh{t: t, configure: configure}
	for i := range n {
		dir := t.TempDir()
		zone := roster.Zone(fmt.Sprintf("z%d", i))
		var id peer.ID
		var err error
		if i == 0 {
			var c node.Created
			c, err = node.CreateMesh(ctx, dir, m.Config(0), string(zone))
			id = c.PeerID
			if err == nil {
				m.Operator, err = node.LoadOperatorKey(dir)
			}
		} else {
			id, err = node.PeerIDOf(dir)
		}
		if err != nil {
			t.Fatalf("testmesh: node %d: %v", i, err)
		}
		m.Nodes = append(m.Nodes, &Member{Dir: dir, ID: id, Zone: zone})
	}
	t.Cleanup(func() {
		for i := range m.Nodes {
			m.Stop(i)
		}
	})
	m.Restart(0)
	for _, x := range m.Nodes[1:] {
		if _, err := m.Nodes[0].AdmitPeer(m.Operator, x.ID, x.Zone, roster.RoleStorage); err != nil {
			t.Fatalf("testmesh: admit: %v", err)
		}
	}
	for i, x := range m.Nodes[1:] {
		// Stand-in for the join protocol.
		if err := node.WriteRoster(ctx, x.Dir, m.Nodes[0].Roster()); err != nil {
			t.Fatalf("testmesh: roster: %v", err)
		}
		m.Restart(i + 1)
	}
	m.WaitLive(10 * time.Second)
	return m
}

// Config is the configuration node i opens with: Config(), edited by
// StartWith's configure.
func (m *Mesh) Config(i int) node.Config {
	c := Config()
	if m.configure != nil {
		m.configure(i, &c)
	}
	return c
}

// Stop closes node i (no-op if stopped).
func (m *Mesh) Stop(i int) {
	if x := m.Nodes[i]; x.Node != nil {
		x.stop()
		x.Node, x.stop = nil, nil
	}
}

// Restart opens node i again from its dir (starting it if stopped), runs
// it, and connects it to node 0 (node 0 to the others that run).
func (m *Mesh) Restart(i int) {
	m.t.Helper()
	m.Stop(i)
	x := m.Nodes[i]
	n, err := node.Open(context.Background(), x.Dir, m.Config(i), nil)
	if err != nil {
		m.t.Fatalf("testmesh: open node %d: %v", i, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = n.Run(ctx)
	}()
	x.Node = n
	x.stop = func() {
		cancel()
		<-done
		if err := n.Close(); err != nil {
			m.t.Errorf("testmesh: close node %d: %v", i, err)
		}
	}
	for j, y := range m.Nodes {
		if j == i || y.Node == nil || (i != 0 && j != 0) {
			continue
		}
		cctx, ccancel := context.WithTimeout(context.Background(), Scale(10*time.Second))
		err := n.Connect(cctx, y.AddrInfo())
		ccancel()
		if err != nil {
			m.t.Fatalf("testmesh: connect %d to %d: %v", i, j, err)
		}
	}
}

// WaitLive waits (d, scaled) until every running node's peer table shows
// every other running node live with its zone.
func (m *Mesh) WaitLive(d time.Duration) {
	m.t.Helper()
	deadline := time.Now().Add(Scale(d))
	for {
		err := m.live()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("testmesh: not live within %v: %v", Scale(d), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (m *Mesh) live() error {
	for i, x := range m.Nodes {
		if x.Node == nil {
			continue
		}
		got := map[mesh.PeerID]node.PeerInfo{}
		for _, p := range x.Peers() {
			got[p.ID] = p
		}
		for j, y := range m.Nodes {
			if j == i || y.Node == nil {
				continue
			}
			if p := got[mesh.PeerID(y.ID.String())]; !p.Live || p.Zone != y.Zone {
				return fmt.Errorf("node %d sees node %d as %+v", i, j, p)
			}
		}
	}
	return nil
}
