package testmesh

import (
	"testing"
	"time"
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
