package mesh

import (
	"errors"
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testConfig: 1 s heartbeats, live within 3 s, availability over 1 h in
// 12 buckets of 5 min, prior 0.5 worth 60 s.
func testConfig() Config {
	return Config{
		Interval: time.Second, LiveWindow: 3 * time.Second,
		Window: time.Hour, Buckets: 12,
		Prior: 0.5, PriorWeight: time.Minute, MaxStrangers: 2,
	}
}

func newTestTable(t *testing.T, members map[PeerID]Member) *Table {
	t.Helper()
	tb, err := NewTable(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	tb.SetMembers(members)
	return tb
}

func hb(peer PeerID, seq uint64, free int64) *Heartbeat {
	return &Heartbeat{Version: 1, Peer: peer, Zone: "claimed", FreeBytes: free, Seq: seq, Sent: t0, Software: "v1", Uptime: time.Minute}
}

func mustPeer(t *testing.T, tb *Table, id PeerID, now time.Time) PeerState {
	t.Helper()
	s, ok := tb.Peer(id, now)
	if !ok {
		t.Fatalf("peer %s unknown", id)
	}
	return s
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*Config){
		"zero interval":        func(c *Config) { c.Interval = 0 },
		"live below interval":  func(c *Config) { c.LiveWindow = time.Second },
		"no buckets":           func(c *Config) { c.Buckets = 0 },
		"uneven buckets":       func(c *Config) { c.Window = 24*time.Hour + time.Nanosecond },
		"bucket not intervals": func(c *Config) { c.Interval = 7 * time.Second; c.LiveWindow = 21 * time.Second },
		"prior above 1":        func(c *Config) { c.Prior = 1.5 },
		"prior NaN":            func(c *Config) { c.Prior = math.NaN() },
		"negative weight":      func(c *Config) { c.PriorWeight = -1 },
		"negative strangers":   func(c *Config) { c.MaxStrangers = -1 },
	} {
		c := DefaultConfig()
		edit(&c)
		if _, err := NewTable(c); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestObserveIgnoresOlderSequence(t *testing.T) {
	tb := newTestTable(t, map[PeerID]Member{"a": {Zone: "z1", Role: RoleStorage}})
	if !tb.Observe(hb("a", 10, 100), t0) {
		t.Fatal("first heartbeat refused")
	}
	if tb.Observe(hb("a", 9, 999), t0.Add(time.Second)) {
		t.Error("older sequence number accepted")
	}
	if tb.Observe(hb("a", 10, 999), t0.Add(time.Second)) {
		t.Error("repeated sequence number accepted")
	}
	s := mustPeer(t, tb, "a", t0.Add(time.Second))
	if s.FreeBytes != 100 || s.Seq != 10 || !s.LastSeen.Equal(t0) {
		t.Errorf("a replay changed the state: %+v", s)
	}
	if !tb.Observe(hb("a", 11, 50), t0.Add(2*time.Second)) {
		t.Fatal("newer heartbeat refused")
	}
	s = mustPeer(t, tb, "a", t0.Add(2*time.Second))
	if s.FreeBytes != 50 || s.Seq != 11 || !s.HeartbeatAt.Equal(t0.Add(2*time.Second)) {
		t.Errorf("newer heartbeat not applied: %+v", s)
	}
	bad := hb("a", 12, -1)
	if tb.Observe(bad, t0) || tb.Observe(nil, t0) {
		t.Error("invalid heartbeat accepted")
	}
}

func TestZoneAndRoleComeFromTheRoster(t *testing.T) {
	tb := newTestTable(t, map[PeerID]Member{"a": {Zone: "z1", Role: RoleClient}})
	h := hb("a", 1, 1<<30)
	h.Zone = "somewhere-else"
	tb.Observe(h, t0)
	s := mustPeer(t, tb, "a", t0)
	if s.Zone != "z1" || s.Role != RoleClient || s.ClaimedZone != "somewhere-else" {
		t.Errorf("zone/role: %+v", s)
	}
	if !s.Live || s.LiveStorage() {
		t.Errorf("a live client: Live=%v LiveStorage=%v", s.Live, s.LiveStorage())
	}
}

func TestLiveness(t *testing.T) {
	tb := newTestTable(t, map[PeerID]Member{"a": {Role: RoleStorage}, "b": {Role: RoleStorage}})
	tb.Observe(hb("a", 1, 1), t0)
	for _, c := range []struct {
		after time.Duration
		live  bool
	}{{0, true}, {3 * time.Second, true}, {3*time.Second + 1, false}, {time.Hour, false}} {
		if got := mustPeer(t, tb, "a", t0.Add(c.after)).Live; got != c.live {
			t.Errorf("%v after the heartbeat: live=%v, want %v", c.after, got, c.live)
		}
	}
	tb.Seen("a", t0.Add(time.Hour))
	if s := mustPeer(t, tb, "a", t0.Add(time.Hour+time.Second)); !s.LiveStorage() || s.FreeBytes != 1 {
		t.Errorf("Seen did not revive a: %+v", s)
	}
	if s := mustPeer(t, tb, "b", t0); s.Live || !s.LastSeen.IsZero() || s.Availability != 0.5 {
		t.Errorf("never-seen member: %+v", s)
	}
	// A clock that goes back neither panics nor moves LastSeen back.
	tb.Seen("a", t0)
	if s := mustPeer(t, tb, "a", t0); !s.LastSeen.Equal(t0.Add(time.Hour)) {
		t.Errorf("LastSeen moved back to %v", s.LastSeen)
	}
}

func TestStrangersAreNeverLiveStorage(t *testing.T) {
	tb := newTestTable(t, map[PeerID]Member{"a": {Role: RoleStorage}})
	for i, id := range []PeerID{"x", "y", "z"} {
		tb.Observe(hb(id, 1, 1<<40), t0.Add(time.Duration(i)))
	}
	ps := tb.Peers(t0)
	if len(ps) != 3 || ps[0].ID != "a" || ps[1].ID != "x" || ps[2].ID != "y" {
		t.Fatalf("want a and two strangers (MaxStrangers=2), got %+v", ps)
	}
	for _, s := range ps[1:] {
		if s.Member || s.Live || s.LiveStorage() || s.Role != "" || s.Zone != "" || s.FreeBytes != 1<<40 {
			t.Errorf("stranger %+v", s)
		}
	}
	if _, ok := tb.Peer("z", t0); ok {
		t.Error("a third stranger was kept")
	}
	// Admitting x keeps its record; y is forgotten; revoking a drops its record.
	tb.Observe(hb("a", 1, 1), t0)
	tb.SetMembers(map[PeerID]Member{"x": {Zone: "z9", Role: RoleStorage}})
	ps = tb.Peers(t0.Add(time.Second))
	if len(ps) != 1 || ps[0].ID != "x" || !ps[0].LiveStorage() || ps[0].Zone != "z9" || ps[0].Seq != 1 {
		t.Fatalf("after SetMembers: %+v", ps)
	}
	tb.Observe(hb("z", 1, 1), t0) // room for strangers again
	if _, ok := tb.Peer("z", t0); !ok {
		t.Error("stranger room not freed by SetMembers")
	}
	tb.SetMembers(map[PeerID]Member{"a": {Role: RoleStorage}})
	if s := mustPeer(t, tb, "a", t0); s.Live || s.Seq != 0 || !s.LastSeen.IsZero() {
		t.Errorf("a revoked and readmitted peer kept its record: %+v", s)
	}
}

func TestSetMembersCopies(t *testing.T) {
	m := map[PeerID]Member{"a": {Role: RoleStorage}}
	tb := newTestTable(t, m)
	m["b"] = Member{Role: RoleStorage}
	delete(m, "a")
	if ps := tb.Peers(t0); len(ps) != 1 || ps[0].ID != "a" {
		t.Errorf("the table shares the caller's map: %+v", ps)
	}
	tb.SetMembers(nil)
	if ps := tb.Peers(t0); len(ps) != 0 {
		t.Errorf("SetMembers(nil) left %+v", ps)
	}
}

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestAvailability(t *testing.T) {
	members := map[PeerID]Member{}
	for _, id := range []PeerID{"always", "half", "gone", "late"} {
		members[id] = Member{Role: RoleStorage}
	}
	tb := newTestTable(t, members)
	const hour = 3600
	for s := range 2 * hour {
		now := t0.Add(time.Duration(s) * time.Second)
		tb.Observe(hb("always", uint64(s+1), 1), now)
		tb.Seen("always", now.Add(time.Millisecond)) // counted once per interval
		if s%2 == 0 {
			tb.Seen("half", now)
		}
		if s < hour/2 {
			tb.Seen("gone", now)
		}
		if s >= 2*hour-10 {
			tb.Seen("late", now)
		}
	}
	now := t0.Add(2*hour*time.Second - time.Second)
	got := map[PeerID]float64{}
	for _, s := range tb.Peers(now) {
		got[s.ID] = s.Availability
	}
	// t0 is bucket-aligned, so at now the window holds 12 whole buckets:
	// 3600 intervals. The prior is 0.5 worth 60 intervals.
	want := map[PeerID]float64{
		"always": (3600 + 30) / 3660.0,
		"half":   (1800 + 30) / 3660.0,
		"gone":   30 / 3660.0,
		"late":   (10 + 30) / 70.0, // a newcomer of 10 s, pulled to the prior
	}
	for id, w := range want {
		if !approx(got[id], w) {
			t.Errorf("%s: availability %.6f, want %.6f", id, got[id], w)
		}
	}
	// A day later with no news, the record has slid out of the window.
	later := now.Add(24 * time.Hour)
	if a := mustPeer(t, tb, "always", later).Availability; !approx(a, 30/3660.0) {
		t.Errorf("after a silent day: %v", a)
	}
}

func TestNewcomerStartsAtPrior(t *testing.T) {
	c := testConfig()
	c.Prior = 0.8
	tb, _ := NewTable(c)
	tb.SetMembers(map[PeerID]Member{"a": {Role: RoleStorage}})
	if a := mustPeer(t, tb, "a", t0).Availability; a != 0.8 {
		t.Errorf("unseen: %v", a)
	}
	tb.Seen("a", t0)
	if a := mustPeer(t, tb, "a", t0).Availability; !approx(a, (1+48)/61.0) {
		t.Errorf("just seen: %v", a)
	}
	c.PriorWeight = 0
	tb, _ = NewTable(c)
	tb.SetMembers(map[PeerID]Member{"a": {Role: RoleStorage}})
	tb.Seen("a", t0)
	if a := mustPeer(t, tb, "a", t0).Availability; a != 1 {
		t.Errorf("no prior weight: %v", a)
	}
}

func TestDefaultConfigDay(t *testing.T) {
	tb, err := NewTable(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	tb.SetMembers(map[PeerID]Member{"a": {Role: RoleStorage}, "b": {Role: RoleStorage}})
	// a heartbeats every 5 s for two days; b only in the second day's
	// first half.
	for s := 0; s < 2*86400; s += 5 {
		now := t0.Add(time.Duration(s) * time.Second)
		tb.Observe(hb("a", uint64(s+1), 1), now)
		if s >= 86400 && s < 86400+43200 {
			tb.Observe(hb("b", uint64(s+1), 1), now)
		}
	}
	now := t0.Add(2*86400*time.Second - time.Second)
	a, b := mustPeer(t, tb, "a", now), mustPeer(t, tb, "b", now)
	// The window holds 17280 intervals of 5 s; the prior (0.5 worth 1 h)
	// adds 360 seen of 720: a perfect record reads 0.98.
	if !approx(a.Availability, (17280+360)/18000.0) || !approx(b.Availability, (8640+360)/18000.0) {
		t.Errorf("a %.4f, b %.4f", a.Availability, b.Availability)
	}
	if !a.LiveStorage() || b.Live {
		t.Errorf("a: %+v\nb: %+v", a, b)
	}
}
