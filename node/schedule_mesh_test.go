package node_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"respaldo/node"
	"respaldo/node/api"
	"respaldo/node/testmesh"
)

// scheduledMesh starts seven storage nodes; node 0 backs up a small tree
// every hour by itself (once it has a member: the caller sets one up), and
// has the extra schedules too.
func scheduledMesh(t *testing.T, extra ...node.Schedule) (*testmesh.Mesh, string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "docs")
	for name, size := range map[string]int{"a.txt": 100, "sub/b.bin": 300 << 10} {
		p := filepath.Join(src, name)
		b := make([]byte, size)
		_, _ = rand.Read(b)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m := testmesh.StartWith(t, 7, func(i int, c *node.Config) {
		if i == 0 {
			c.Schedules = append([]node.Schedule{{Name: "docs", Paths: []string{src}, Tags: []string{"auto"}, Interval: time.Hour, KeepLast: 3}}, extra...)
		}
	})
	return m, src
}

// waitFor polls cond every 100 ms until it returns nil or d (scaled) passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(testmesh.Scale(d))
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, testmesh.Scale(d), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// snapshots lists the snapshots node 0's member made (its own, no key).
func snapshots(t *testing.T, m *testmesh.Mesh) []api.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testmesh.Scale(30*time.Second))
	defer cancel()
	s, err := m.Nodes[0].APIBackend().Snapshots(ctx, api.SnapshotsRequest{})
	if err != nil {
		t.Fatalf("snapshots: %v", err)
	}
	return s
}

// A schedule backs up by itself once the node has a member; its state
// shows the run; one that fails waits a minute before it tries again; a
// restart does not run them again before their time.
func TestScheduledBackup(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone")
	m, src := scheduledMesh(t, node.Schedule{Name: "gone", Paths: []string{missing}, Interval: time.Hour})
	if got := m.Nodes[0].Schedules(); len(got) != 2 || got[0].Waiting == "" || !got[0].LastRun.IsZero() {
		t.Fatalf("before the member: %+v", got)
	}
	if _, err := node.SetupMember(m.Nodes[0].Dir, "laptop-sched"); err != nil {
		t.Fatal(err)
	}
	var snaps []api.Snapshot
	waitFor(t, 2*time.Minute, "a scheduled snapshot", func() error {
		if snaps = snapshots(t, m); len(snaps) == 0 {
			return fmt.Errorf("no snapshot; schedules %+v", m.Nodes[0].Schedules())
		}
		return nil
	})
	if len(snaps) != 1 || len(snaps[0].Paths) != 1 || snaps[0].Paths[0] != src || len(snaps[0].Tags) != 1 || snaps[0].Tags[0] != "auto" {
		t.Fatalf("snapshots %+v", snaps)
	}
	var st, failed node.ScheduleState
	waitFor(t, 30*time.Second, "the schedules' records", func() error {
		ss := m.Nodes[0].Schedules()
		st, failed = ss[0], ss[1]
		if st.LastSnapshot != snaps[0].ID || st.Running || failed.Failures == 0 || failed.Running {
			return fmt.Errorf("states %+v", ss)
		}
		return nil
	})
	if st.Name != "docs" || st.LastError != "" || st.Failures != 0 || st.Waiting != "" ||
		!st.LastRun.Equal(st.LastSuccess) || !st.NextDue.Equal(st.LastSuccess.Add(time.Hour)) {
		t.Fatalf("state after the run: %+v", st)
	}
	// (A second failure would need the first a minute old: only on a
	// machine slow enough to stretch this test beyond it.)
	if failed.Name != "gone" || !strings.Contains(failed.LastError, "does not exist") || !failed.LastSuccess.IsZero() ||
		failed.LastSnapshot != "" || failed.Failures == 1 && !failed.NextDue.Equal(failed.LastRun.Add(time.Minute)) {
		t.Fatalf("state after a failed run: %+v", failed)
	}

	m.Restart(0)
	m.WaitLive(10 * time.Second)
	// The scheduler looks every 3 heartbeats (600 ms): give it several.
	time.Sleep(testmesh.Scale(3 * time.Second))
	if s := snapshots(t, m); len(s) != 1 {
		t.Fatalf("after a restart within the interval: %d snapshots", len(s))
	}
	got := m.Nodes[0].Schedules()
	if got[0].LastSnapshot != st.LastSnapshot || !got[0].NextDue.Equal(st.NextDue) || got[0].Waiting != "" {
		t.Fatalf("state after a restart: %+v, was %+v", got[0], st)
	}
	if time.Since(failed.LastRun) < 50*time.Second && (got[1].Failures != failed.Failures ||
		!got[1].LastRun.Equal(failed.LastRun) || !got[1].NextDue.Equal(failed.NextDue)) {
		t.Fatalf("failed schedule after a restart: %+v, was %+v", got[1], failed)
	}
}

// A due schedule waits while fewer than k+m storage peers are live, and
// runs when they are back.
func TestScheduledBackupWaitsForPeers(t *testing.T) {
	m, _ := scheduledMesh(t)
	m.Stop(5)
	m.Stop(6)
	waitFor(t, 10*time.Second, "nodes 5 and 6 seen down", func() error {
		live := 0
		for _, p := range m.Nodes[0].Peers() {
			if p.Live {
				live++
			}
		}
		if live != 4 {
			return fmt.Errorf("%d peers live", live)
		}
		return nil
	})
	if _, err := node.SetupMember(m.Nodes[0].Dir, "laptop-sched"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the schedule waiting for peers", func() error {
		if st := m.Nodes[0].Schedules()[0]; !strings.Contains(st.Waiting, "4 of the 6 storage peers") {
			return fmt.Errorf("state %+v", st)
		}
		return nil
	})
	time.Sleep(testmesh.Scale(2 * time.Second)) // several looks of the scheduler
	if s := snapshots(t, m); len(s) != 0 {
		t.Fatalf("backed up with 4 storage peers for 4+2: %+v", s)
	}
	if st := m.Nodes[0].Schedules()[0]; !st.LastRun.IsZero() || st.Failures != 0 {
		t.Fatalf("the schedule ran without enough peers: %+v", st)
	}

	m.Restart(5)
	m.Restart(6)
	m.WaitLive(10 * time.Second)
	waitFor(t, 2*time.Minute, "the scheduled snapshot once the peers are back", func() error {
		if s := snapshots(t, m); len(s) != 1 {
			return fmt.Errorf("%d snapshots; schedules %+v", len(s), m.Nodes[0].Schedules())
		}
		return nil
	})
}
