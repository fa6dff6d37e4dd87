package testmesh

import (
	"testing"
	"time"

	"respaldo/node"
)

func TestStartStopRestart(t *testing.T) {
	m := Start(t, 3)
	id := m.Nodes[2].ID
	m.Stop(2)
	m.Restart(2)
	if m.Nodes[2].Node.ID() != id {
		t.Fatal("peer ID changed across a restart")
	}
	m.WaitLive(10 * time.Second)
	st, err := m.Nodes[2].Status(t.Context())
	if err != nil || st.PeersOnline != 2 {
		t.Fatalf("status %+v %v", st, err)
	}
}

func TestStartWith(t *testing.T) {
	seen := map[int]int{}
	m := StartWith(t, 2, func(i int, c *node.Config) {
		seen[i]++
		if i == 0 {
			c.RepairGrace = 90 * time.Second
		}
	})
	m.Restart(1)
	if seen[0] < 2 || seen[1] < 2 { // created and opened; opened twice
		t.Fatalf("configure calls: %v", seen)
	}
	c, err := node.LoadConfig(m.Nodes[0].Dir) // what CreateMesh saved
	if err != nil || c.RepairGrace != 90*time.Second {
		t.Fatalf("node 0's saved config: %+v, %v", c, err)
	}
	if m.Config(1).RepairGrace != Config().RepairGrace {
		t.Fatalf("node 1's config: %+v", m.Config(1))
	}
}
