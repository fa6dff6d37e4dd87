package roster

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMemberStatus(t *testing.T) {
	op, h := key(1), time.Hour
	l := newLog(t)
	done(t)(l.Admit(op, admission(1, "madrid", RoleStorage), t0.Add(h)))
	a2 := admission(2, "quito", RoleClient)
	a2.Expiry = t0.Add(10 * h)
	done(t)(l.Admit(op, a2, t0.Add(h)))
	done(t)(l.Admit(op, admission(3, "madrid", RoleStorage), t0.Add(h)))
	done(t)(l.Revoke(op, peer(3), "seized", t0.Add(2*h)))

	cases := []struct {
		p    PeerID
		at   time.Duration
		want Status
		zone Zone
	}{
		{peer(1), 0, Admitted, "madrid"}, // admitted before now: status does not look back
		{peer(1), 100 * h, Admitted, "madrid"},
		{peer(2), 10*h - time.Millisecond, Admitted, "quito"},
		{peer(2), 10 * h, Expired, "quito"},
		{peer(3), 3 * h, Revoked, "madrid"},
		{peer(4), h, Unknown, ""},
	}
	for _, c := range cases {
		m, st := l.Member(c.p, t0.Add(c.at))
		if st != c.want || m.Zone != c.zone {
			t.Errorf("%s at +%s: %s %q, want %s %q", c.p, c.at, st, m.Zone, c.want, c.zone)
		}
		if got := l.Allowed(c.p, t0.Add(c.at)); got != (c.want == Admitted) {
			t.Errorf("%s at +%s: Allowed %v", c.p, c.at, got)
		}
	}
	if m, _ := l.Member(peer(3), t0); m.Reason != "seized" || !m.Revoked.Equal(t0.Add(2*h)) {
		t.Errorf("revoked member %+v", m)
	}
	if got := slices.Sorted(maps.Keys(l.Members(t0.Add(11 * h)))); !slices.Equal(got, []PeerID{peer(1)}) {
		t.Errorf("Members at +11h: %v", got)
	}
	if !l.LatestTime().Equal(t0.Add(2 * h)) {
		t.Errorf("LatestTime %s", l.LatestTime())
	}
	if got := len(l.Members(t0.Add(5 * h))); got != 2 {
		t.Errorf("Members at +5h: %d", got)
	}

	// Renewal brings an expired member back and may move it.
	a2.Expiry, a2.Zone = t0.Add(100*h), "lima"
	done(t)(l.Admit(op, a2, t0.Add(11*h)))
	if m, st := l.Member(peer(2), t0.Add(12*h)); st != Admitted || m.Zone != "lima" || m.Seq != 5 {
		t.Errorf("renewed: %s %+v", st, m)
	}
}

func TestRevocationsSince(t *testing.T) {
	op, h := key(1), time.Hour
	l := newLog(t)
	for i := 1; i <= 4; i++ {
		r := RoleStorage
		if i == 4 {
			r = RoleClient
		}
		done(t)(l.Admit(op, admission(i, "z", r), t0))
	}
	done(t)(l.Revoke(op, peer(1), "old", t0.Add(h)))
	done(t)(l.Revoke(op, peer(2), "seized", t0.Add(30*h)))
	done(t)(l.Revoke(op, peer(4), "lost", t0.Add(40*h)))
	got := l.RevocationsSince(t0.Add(40*h - 24*h))
	if len(got) != 2 || got[0].Peer != peer(2) || got[0].Role != RoleStorage || got[1].Role != RoleClient ||
		got[0].SignedBy != op.Public() || got[0].Reason != "seized" {
		t.Fatalf("%+v", got)
	}
	if n := len(l.RevocationsSince(t0.Add(40 * h))); n != 1 {
		t.Fatalf("window is inclusive: %d", n)
	}
}

func TestInvites(t *testing.T) {
	op, h := key(1), time.Hour
	l := newLog(t)
	done(t)(l.Invite(op, Invitation{Token: token(1), Zone: "z", Role: RoleClient, Expiry: t0.Add(2 * h)}, t0))
	done(t)(l.Invite(op, Invitation{Token: token(2), Zone: "z", Role: RoleStorage, Expiry: t0.Add(5 * h)}, t0))
	if n := len(l.OpenInvites(t0.Add(h))); n != 2 {
		t.Fatalf("%d open", n)
	}
	if got := l.OpenInvites(t0.Add(3 * h)); len(got) != 1 || got[0].Token != token(2) {
		t.Fatalf("after expiry: %+v", got)
	}
	a := admission(7, "z", RoleStorage)
	a.Token = token(2)
	done(t)(l.Admit(op, a, t0.Add(h)))
	if n := len(l.OpenInvites(t0.Add(h))); n != 1 {
		t.Fatalf("consumed invite still open: %d", n)
	}
	if p, ok := l.TokenUsedBy(token(2)); !ok || p != peer(7) {
		t.Fatalf("TokenUsedBy: %s %v", p, ok)
	}
	if _, ok := l.TokenUsedBy(token(1)); ok {
		t.Fatal("unused token reported used")
	}

	// Withdrawn: no longer open, still recorded.
	done(t)(l.Invite(op, Invitation{Token: token(3), Zone: "y", Role: RoleStorage, Expiry: t0.Add(5 * h)}, t0.Add(h)))
	if n := len(l.OpenInvites(t0.Add(h))); n != 2 {
		t.Fatalf("%d open", n)
	}
	if l.Withdrawn(token(3)) {
		t.Fatal("withdrawn before its entry")
	}
	e := done(t)(l.WithdrawInvite(op, token(3), t0.Add(90*time.Minute)))
	if e.Kind != KindWithdrawInvite || e.Token != token(3) || e.View().Kind != "withdraw-invite" {
		t.Fatalf("entry %+v", e)
	}
	if got := l.OpenInvites(t0.Add(90 * time.Minute)); len(got) != 1 || got[0].Token != token(1) {
		t.Fatalf("withdrawn invite still open: %+v", got)
	}
	if !l.Withdrawn(token(3)) || l.Withdrawn(token(1)) {
		t.Fatal("Withdrawn")
	}
	if inv, ok := l.RecordedInvite(token(3)); !ok || inv.Zone != "y" || inv.Role != RoleStorage || !inv.Expiry.Equal(t0.Add(5*h)) {
		t.Fatalf("RecordedInvite: %+v %v", inv, ok)
	}
	if _, ok := l.RecordedInvite(token(9)); ok {
		t.Fatal("RecordedInvite of a token never recorded")
	}
	// Every node reaches the same verdict: decoded, the log says the same.
	d, err := Decode(l.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if !d.Withdrawn(token(3)) || len(d.OpenInvites(t0.Add(90*time.Minute))) != 1 {
		t.Fatal("decoded log lost the withdrawal")
	}
	a.Peer, a.Token = peer(8), token(3)
	a.Zone = "y"
	if _, err := d.Admit(op, a, t0.Add(3*h)); !errors.Is(err, ErrTokenWithdrawn) {
		t.Fatalf("admit with a withdrawn token: %v", err)
	}
}

func TestView(t *testing.T) {
	op := key(1)
	l := newLog(t)
	a := admission(1, "madrid", RoleStorage)
	a.Expiry = t0.Add(time.Hour)
	e := done(t)(l.Admit(op, a, t0))
	b, err := json.Marshal(e.View())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"seq", "kind", "peer_id", "zone", "role", "signed_by", "time", "expiry", "hash"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %q missing in %s", k, b)
		}
	}
	if m["signed_by"] != op.Public().Fingerprint() || m["kind"] != "admit" || m["peer_id"] != string(peer(1)) {
		t.Errorf("%s", b)
	}
	g, _ := json.Marshal(l.Entries()[0].View())
	for _, k := range []string{`"peer_id":""`, `"zone":""`, `"role":""`, `"ec":"4+2"`} {
		if !strings.Contains(string(g), k) {
			t.Errorf("genesis view lacks %s: %s", k, g)
		}
	}
	if strings.Contains(string(g), "expiry") || strings.Contains(string(g), "reason") {
		t.Errorf("genesis view has unset keys: %s", g)
	}
}

func TestEntriesAreCopies(t *testing.T) {
	l := newLog(t)
	done(t)(l.Admit(key(1), admission(1, "z", RoleStorage), t0))
	es := l.Entries()
	es[1].Peer = "evil"
	es[0].Operators[0] = key(9).Public()
	l.Since(0)[0].Zone = "elsewhere"
	if m, st := l.Member(peer(1), t0); st != Admitted || m.Zone != "z" {
		t.Fatal("changing a returned entry changed the log")
	}
	if l.Entries()[1].Peer != peer(1) || !l.IsOperator(key(1).Public()) || l.IsOperator(key(9).Public()) {
		t.Fatal("changing a returned entry changed the log")
	}
}

func TestKeys(t *testing.T) {
	k := key(7)
	if OperatorKeyFromSeed(k.Seed()) != k {
		t.Fatal("seed round trip")
	}
	for _, s := range []string{k.String(), k.GoString()} {
		if !strings.Contains(s, "redacted") || strings.Contains(s, k.Public().String()) {
			t.Fatalf("key prints as %q", s)
		}
	}
	p, err := ParseOperatorPub(k.Public().String())
	if err != nil || p != k.Public() {
		t.Fatalf("parse: %v", err)
	}
	for _, s := range []string{"", "zz" + k.Public().String()[2:], k.Public().String()[1:]} {
		if _, err := ParseOperatorPub(s); err == nil {
			t.Fatalf("parsed %q", s)
		}
	}
	g, err := GenerateOperatorKey(strings.NewReader(strings.Repeat("x", 32)))
	if err != nil || g.Public() == k.Public() {
		t.Fatal(err)
	}
	if _, err := GenerateOperatorKey(strings.NewReader("short")); err == nil {
		t.Fatal("short rand accepted")
	}
	if len(k.Public().Fingerprint()) != 16 {
		t.Fatal(k.Public().Fingerprint())
	}
}

// TestConcurrentReads runs the gater's reads against sync's writes (for -race).
func TestConcurrentReads(t *testing.T) {
	src := newLog(t)
	dst, err := Decode(src.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		done(t)(src.Admit(key(1), admission(i, "z", RoleStorage), t0))
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					dst.Allowed(peer(3), t0)
					dst.Head()
					dst.Members(t0)
				}
			}
		})
	}
	for i := 1; i <= 50; i += 7 {
		seq, _ := dst.Head()
		if err := dst.Merge(src.Since(seq)[:min(7, 50-int(seq))]); err != nil && !errors.Is(err, ErrBrokenChain) {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	if a, _ := dst.Head(); a != 50 {
		t.Fatalf("merged up to %d, want 50", a)
	}
}
