package roster

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/quick"
	"time"
)

// model is a naive account of what a sequence of operations means, kept
// beside a Log by TestProperty.
type model struct {
	t         *testing.T
	rng       *rand.Rand
	l         *Log
	now       time.Time
	ops       []OperatorKey // current operators
	gone      []OperatorKey // removed operators
	members   map[PeerID]*modelMember
	used      map[TokenHash]bool
	invites   map[TokenHash]Invitation
	withdrawn map[TokenHash]bool // withdrawn invites
	n         int                // counter for fresh peers, tokens and keys
}

type modelMember struct {
	zone    Zone
	role    Role
	expiry  time.Time
	revoked bool
}

func (m *model) status(p PeerID, now time.Time) Status {
	mm, ok := m.members[p]
	switch {
	case !ok:
		return Unknown
	case mm.revoked:
		return Revoked
	case !mm.expiry.IsZero() && !now.Before(mm.expiry):
		return Expired
	}
	return Admitted
}

func (m *model) fresh() int { m.n++; return m.n }

func (m *model) signer() OperatorKey { return m.ops[m.rng.IntN(len(m.ops))] }

func (m *model) zoneRole() (Zone, Role) {
	z := Zone([]string{"madrid", "quito", "berlin"}[m.rng.IntN(3)])
	if m.rng.IntN(2) == 0 {
		return z, RoleClient
	}
	return z, RoleStorage
}

func (m *model) expiry() time.Time {
	if m.rng.IntN(2) == 0 {
		return time.Time{}
	}
	return m.now.Add(time.Duration(1+m.rng.IntN(10)) * time.Hour)
}

// peers returns the known peers with the given status at m.now, sorted.
func (m *model) peers(st Status) []PeerID {
	var out []PeerID
	for _, p := range slices.Sorted(maps.Keys(m.members)) {
		if m.status(p, m.now) == st {
			out = append(out, p)
		}
	}
	return out
}

func (m *model) pick(ps []PeerID) PeerID { return ps[m.rng.IntN(len(ps))] }

// step makes one random operation, valid or (sometimes) invalid, and checks
// the log's verdict against the model's.
func (m *model) step() {
	m.now = m.now.Add(time.Duration(m.rng.IntN(3*3600)) * time.Second)
	live, expired, revoked := m.peers(Admitted), m.peers(Expired), m.peers(Revoked)
	var err, want error
	switch m.rng.IntN(10) {
	case 0, 1: // admit a new peer, directly, with a fresh token or an open invite's
		z, r := m.zoneRole()
		a := Admission{Peer: peer(m.fresh()), Zone: z, Role: r, Expiry: m.expiry()}
		switch m.rng.IntN(3) {
		case 1:
			a.Token = token(m.fresh())
		case 2:
			for _, tok := range slices.SortedFunc(maps.Keys(m.invites), func(a, b TokenHash) int { return bytes.Compare(a[:], b[:]) }) {
				if inv := m.invites[tok]; !m.used[tok] && !m.withdrawn[tok] && m.now.Before(inv.Expiry) {
					a.Token, a.Zone, a.Role = tok, inv.Zone, inv.Role
				}
			}
		}
		if _, err = m.l.Admit(m.signer(), a, m.now); err == nil {
			m.members[a.Peer] = &modelMember{zone: a.Zone, role: a.Role, expiry: a.Expiry}
			m.used[a.Token] = true
		}
	case 2: // record an invite
		z, r := m.zoneRole()
		inv := Invitation{Token: token(m.fresh()), Zone: z, Role: r, Expiry: m.now.Add(time.Duration(1+m.rng.IntN(5)) * time.Hour)}
		if _, err = m.l.Invite(m.signer(), inv, m.now); err == nil {
			m.invites[inv.Token] = inv
		}
	case 3: // renew a live or expired member, or rejoin an expired one with a token
		ps := append(live, expired...)
		if len(ps) == 0 {
			return
		}
		p := m.pick(ps)
		z, r := m.zoneRole()
		a := Admission{Peer: p, Zone: z, Role: r, Expiry: m.expiry()}
		if m.status(p, m.now) == Expired && m.rng.IntN(2) == 0 {
			a.Token = token(m.fresh())
		}
		if _, err = m.l.Admit(m.signer(), a, m.now); err == nil {
			*m.members[p] = modelMember{zone: a.Zone, role: a.Role, expiry: a.Expiry}
			m.used[a.Token] = true
		}
	case 4: // revoke
		ps := append(live, expired...)
		if len(ps) == 0 {
			return
		}
		p := m.pick(ps)
		if _, err = m.l.Revoke(m.signer(), p, "seized", m.now); err == nil {
			m.members[p].revoked = true
		}
	case 5: // add an operator
		if len(m.ops) >= 4 {
			return
		}
		k := key(byte(m.fresh()))
		if _, err = m.l.AddOperator(m.signer(), k.Public(), m.now); err == nil {
			m.ops = append(m.ops, k)
		}
	case 6: // remove an operator
		if len(m.ops) < 2 {
			return
		}
		i := m.rng.IntN(len(m.ops))
		k := m.ops[i]
		if _, err = m.l.RemoveOperator(m.signer(), k.Public(), m.now); err == nil {
			m.ops = slices.Delete(m.ops, i, i+1)
			m.gone = append(m.gone, k)
		}
	case 9: // withdraw an invite that is not consumed yet (open or expired)
		for _, tok := range slices.SortedFunc(maps.Keys(m.invites), func(a, b TokenHash) int { return bytes.Compare(a[:], b[:]) }) {
			if m.used[tok] || m.withdrawn[tok] {
				continue
			}
			if _, err = m.l.WithdrawInvite(m.signer(), tok, m.now); err == nil {
				m.withdrawn[tok] = true
			}
			break
		}
	case 7, 8: // something the log must refuse
		head, hash := m.l.Head()
		z, r := m.zoneRole()
		switch m.rng.IntN(5) {
		case 0:
			if len(revoked) == 0 {
				return
			}
			_, err = m.l.Admit(m.signer(), Admission{Peer: m.pick(revoked), Zone: z, Role: r}, m.now)
			want = ErrRevoked
		case 1:
			var tok TokenHash
			for t := range m.used {
				if t != (TokenHash{}) && (tok == TokenHash{} || bytes.Compare(t[:], tok[:]) < 0) {
					tok = t
				}
			}
			if tok == (TokenHash{}) {
				return
			}
			_, err = m.l.Admit(m.signer(), Admission{Peer: peer(m.fresh()), Zone: z, Role: r, Token: tok}, m.now)
			want = ErrTokenUsed
		case 2:
			_, err = m.l.Admit(key(250), Admission{Peer: peer(m.fresh()), Zone: z, Role: r}, m.now)
			want = ErrNotOperator
		case 3:
			if len(m.gone) == 0 {
				return
			}
			_, err = m.l.Admit(m.gone[m.rng.IntN(len(m.gone))], Admission{Peer: peer(m.fresh()), Zone: z, Role: r}, m.now)
			want = ErrNotOperator
		case 4:
			for _, tok := range slices.SortedFunc(maps.Keys(m.withdrawn), func(a, b TokenHash) int { return bytes.Compare(a[:], b[:]) }) {
				inv := m.invites[tok]
				_, err = m.l.Admit(m.signer(), Admission{Peer: peer(m.fresh()), Zone: inv.Zone, Role: inv.Role, Token: tok}, m.now)
				want = ErrTokenWithdrawn
				break
			}
		}
		if s2, h2 := m.l.Head(); s2 != head || h2 != hash {
			m.t.Fatalf("a refused entry changed the log")
		}
	}
	wantErr(m.t, err, want)
}

// check compares every peer's status with the model's at a few times.
func (m *model) check(l *Log) {
	for _, d := range []time.Duration{0, time.Hour, 12 * time.Hour} {
		now := m.now.Add(d)
		n := 0
		for p, mm := range m.members {
			got, st := l.Member(p, now)
			if want := m.status(p, now); st != want || got.Zone != mm.zone || got.Role != mm.role {
				m.t.Fatalf("%s at +%s: %s %s %s, model says %s %s %s", p, d, st, got.Zone, got.Role, want, mm.zone, mm.role)
			}
			if st == Admitted {
				n++
			}
		}
		if got := len(l.Members(now)); got != n {
			m.t.Fatalf("Members: %d, model %d", got, n)
		}
	}
}

// TestProperty: random valid sequences of operations are accepted and mean
// what the model says; encoded, decoded, and merged into a second log in
// random chunks (overlapping or not), they give identical heads and bytes.
func TestProperty(t *testing.T) {
	f := func(seed uint64) bool {
		rng := rand.New(rand.NewPCG(seed, 0x726f73746572))
		l := newLog(t)
		m := &model{
			t: t, rng: rng, l: l, now: t0, ops: []OperatorKey{key(1)},
			members: map[PeerID]*modelMember{}, used: map[TokenHash]bool{}, invites: map[TokenHash]Invitation{},
			withdrawn: map[TokenHash]bool{}, n: 10,
		}
		for range 40 + rng.IntN(60) {
			m.step()
		}
		m.check(l)

		decoded, err := Decode(l.Marshal())
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		m.check(decoded)

		all := l.Entries()
		other, err := fromEntries(all[:1])
		if err != nil {
			t.Fatal(err)
		}
		for {
			seq, _ := other.Head()
			if int(seq) == len(all)-1 {
				break
			}
			start := max(0, int(seq)+1-rng.IntN(3)) // sometimes overlap what it has
			end := min(len(all), start+1+rng.IntN(8))
			var chunk []*Entry
			for _, e := range all[start:end] {
				d, err := DecodeEntry(e.Marshal())
				if err != nil {
					t.Fatalf("seed %d: seq %d: %v", seed, e.Seq, err)
				}
				chunk = append(chunk, d)
			}
			if err := other.Merge(chunk); err != nil {
				t.Fatalf("seed %d: merging %d..%d: %v", seed, start, end-1, err)
			}
		}
		m.check(other)
		s1, h1 := l.Head()
		s2, h2 := decoded.Head()
		s3, h3 := other.Head()
		if s1 != s2 || s1 != s3 || h1 != h2 || h1 != h3 || !bytes.Equal(l.Marshal(), other.Marshal()) {
			t.Errorf("seed %d: heads %d %s, %d %s, %d %s", seed, s1, h1, s2, h2, s3, h3)
			return false
		}
		return true
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 40}); err != nil {
		t.Fatal(err)
	}
}

func ExampleLog_Head() {
	l, _ := Genesis(key(1), Settings{}, t0)
	_, _ = l.Admit(key(1), Admission{Peer: "12D3KooWExample", Zone: "madrid", Role: RoleStorage}, t0)
	seq, _ := l.Head()
	_, st := l.Member("12D3KooWExample", t0)
	fmt.Println(seq, st, l.Allowed("12D3KooWOther", t0))
	// Output: 1 admitted false
}
