package roster

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRules(t *testing.T) {
	op, op2, stranger := key(1), key(2), key(9)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	admit := func(l *Log, o OperatorKey, a Admission, d time.Duration) error {
		_, err := l.Admit(o, a, at(d))
		return err
	}
	invite := func(l *Log, tok int, z Zone, r Role, exp time.Duration, d time.Duration) error {
		_, err := l.Invite(op, Invitation{Token: token(tok), Zone: z, Role: r, Expiry: at(exp)}, at(d))
		return err
	}
	withTok := func(a Admission, n int) Admission { a.Token = token(n); return a }
	withExp := func(a Admission, d time.Duration) Admission { a.Expiry = at(d); return a }
	ok := func(t testing.TB, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	h := time.Hour

	cases := []struct {
		name  string
		setup func(t testing.TB, l *Log)
		do    func(l *Log) error
		want  error
	}{
		{name: "admit storage", do: func(l *Log) error { return admit(l, op, admission(1, "madrid", RoleStorage), h) }},
		{name: "admit client with expiry and token", do: func(l *Log) error {
			return admit(l, op, withExp(withTok(admission(1, "madrid", RoleClient), 1), 48*h), h)
		}},
		{name: "admit unknown role", want: ErrBadEntry, do: func(l *Log) error { return admit(l, op, admission(1, "madrid", "relay"), h) }},
		{name: "admit empty zone", want: ErrBadEntry, do: func(l *Log) error { return admit(l, op, admission(1, "", RoleStorage), h) }},
		{name: "admit zone with newline", want: ErrBadEntry, do: func(l *Log) error { return admit(l, op, admission(1, "a\nb", RoleStorage), h) }},
		{name: "admit zone too long", want: ErrBadEntry, do: func(l *Log) error {
			return admit(l, op, admission(1, Zone(strings.Repeat("z", MaxZoneLen+1)), RoleStorage), h)
		}},
		{name: "admit empty peer", want: ErrBadEntry, do: func(l *Log) error { return admit(l, op, Admission{Zone: "z", Role: RoleStorage}, h) }},
		{name: "admit peer with space", want: ErrBadEntry, do: func(l *Log) error {
			return admit(l, op, Admission{Peer: "12D3 Koo", Zone: "z", Role: RoleStorage}, h)
		}},
		{name: "admit peer too long", want: ErrBadEntry, do: func(l *Log) error {
			return admit(l, op, Admission{Peer: PeerID(strings.Repeat("Q", MaxPeerIDLen+1)), Zone: "z", Role: RoleStorage}, h)
		}},
		{name: "admit expiry before its time", want: ErrBadEntry, do: func(l *Log) error {
			return admit(l, op, withExp(admission(1, "z", RoleClient), h), 2*h)
		}},
		{name: "admit expiring at the epoch", want: ErrBadEntry, do: func(l *Log) error {
			a := admission(1, "z", RoleClient)
			a.Expiry = time.UnixMilli(0)
			_, err := l.Admit(op, a, at(h))
			return err
		}},
		{name: "admit by a non-operator", want: ErrNotOperator, do: func(l *Log) error { return admit(l, stranger, admission(1, "z", RoleStorage), h) }},
		{name: "admit with the zero key", want: ErrNotOperator, do: func(l *Log) error { return admit(l, OperatorKey{}, admission(1, "z", RoleStorage), h) }},
		{name: "renew a live member without token", setup: func(t testing.TB, l *Log) {
			ok(t, admit(l, op, withExp(admission(1, "z", RoleClient), 24*h), h))
		}, do: func(l *Log) error { return admit(l, op, withExp(admission(1, "z2", RoleStorage), 72*h), 2*h) }},
		{name: "token admit of a live member", want: ErrBadEntry, setup: func(t testing.TB, l *Log) {
			ok(t, admit(l, op, admission(1, "z", RoleClient), h))
		}, do: func(l *Log) error { return admit(l, op, withTok(admission(1, "z", RoleClient), 1), 2*h) }},
		{name: "token rejoin of an expired member", setup: func(t testing.TB, l *Log) {
			ok(t, admit(l, op, withExp(withTok(admission(1, "z", RoleClient), 1), 2*h), h))
		}, do: func(l *Log) error { return admit(l, op, withTok(admission(1, "z", RoleClient), 2), 3*h) }},
		{name: "token used twice", want: ErrTokenUsed, setup: func(t testing.TB, l *Log) {
			ok(t, admit(l, op, withTok(admission(1, "z", RoleClient), 1), h))
		}, do: func(l *Log) error { return admit(l, op, withTok(admission(2, "z", RoleClient), 1), 2*h) }},
		{name: "re-admit after revoke", want: ErrRevoked, setup: func(t testing.TB, l *Log) {
			ok(t, admit(l, op, admission(1, "z", RoleStorage), h))
			_, err := l.Revoke(op, peer(1), "seized", at(2*h))
			ok(t, err)
		}, do: func(l *Log) error { return admit(l, op, admission(1, "z", RoleStorage), 3*h) }},
		{name: "re-admit after revoke with a token", want: ErrRevoked, setup: func(t testing.TB, l *Log) {
			ok(t, admit(l, op, admission(1, "z", RoleStorage), h))
			_, err := l.Revoke(op, peer(1), "seized", at(2*h))
			ok(t, err)
		}, do: func(l *Log) error { return admit(l, op, withTok(admission(1, "z", RoleStorage), 5), 3*h) }},
		{name: "revoke", setup: func(t testing.TB, l *Log) {
			ok(t, admit(l, op, admission(1, "z", RoleStorage), h))
		}, do: func(l *Log) error { _, err := l.Revoke(op, peer(1), "seized", at(2*h)); return err }},
		{name: "revoke an expired member", setup: func(t testing.TB, l *Log) {
			ok(t, admit(l, op, withExp(admission(1, "z", RoleClient), 2*h), h))
		}, do: func(l *Log) error { _, err := l.Revoke(op, peer(1), "", at(5*h)); return err }},
		{name: "revoke twice", want: ErrRevoked, setup: func(t testing.TB, l *Log) {
			ok(t, admit(l, op, admission(1, "z", RoleStorage), h))
			_, err := l.Revoke(op, peer(1), "seized", at(2*h))
			ok(t, err)
		}, do: func(l *Log) error { _, err := l.Revoke(op, peer(1), "again", at(3*h)); return err }},
		{name: "revoke a peer never admitted", want: ErrBadEntry, do: func(l *Log) error {
			_, err := l.Revoke(op, peer(1), "typo", at(h))
			return err
		}},
		{name: "revoke reason with control character", want: ErrBadEntry, setup: func(t testing.TB, l *Log) {
			ok(t, admit(l, op, admission(1, "z", RoleStorage), h))
		}, do: func(l *Log) error { _, err := l.Revoke(op, peer(1), "seized\x1b[2J", at(2*h)); return err }},
		{name: "revoke by a non-operator", want: ErrNotOperator, setup: func(t testing.TB, l *Log) {
			ok(t, admit(l, op, admission(1, "z", RoleStorage), h))
		}, do: func(l *Log) error { _, err := l.Revoke(stranger, peer(1), "", at(2*h)); return err }},
		{name: "invite then admit", setup: func(t testing.TB, l *Log) {
			ok(t, invite(l, 1, "z", RoleClient, 2*h, h))
		}, do: func(l *Log) error { return admit(l, op, withTok(admission(1, "z", RoleClient), 1), 90*time.Minute) }},
		{name: "admit with another zone than its invite", want: ErrBadEntry, setup: func(t testing.TB, l *Log) {
			ok(t, invite(l, 1, "z", RoleClient, 2*h, h))
		}, do: func(l *Log) error { return admit(l, op, withTok(admission(1, "other", RoleClient), 1), 90*time.Minute) }},
		{name: "admit with another role than its invite", want: ErrBadEntry, setup: func(t testing.TB, l *Log) {
			ok(t, invite(l, 1, "z", RoleClient, 2*h, h))
		}, do: func(l *Log) error { return admit(l, op, withTok(admission(1, "z", RoleStorage), 1), 90*time.Minute) }},
		{name: "admit after its invite expired", want: ErrBadEntry, setup: func(t testing.TB, l *Log) {
			ok(t, invite(l, 1, "z", RoleClient, 2*h, h))
		}, do: func(l *Log) error { return admit(l, op, withTok(admission(1, "z", RoleClient), 1), 2*h) }},
		{name: "invite recorded twice", want: ErrTokenUsed, setup: func(t testing.TB, l *Log) {
			ok(t, invite(l, 1, "z", RoleClient, 2*h, h))
		}, do: func(l *Log) error { return invite(l, 1, "z", RoleClient, 3*h, h) }},
		{name: "invite of a consumed token", want: ErrTokenUsed, setup: func(t testing.TB, l *Log) {
			ok(t, admit(l, op, withTok(admission(1, "z", RoleClient), 1), h))
		}, do: func(l *Log) error { return invite(l, 1, "z", RoleClient, 3*h, h) }},
		{name: "invite without expiry", want: ErrBadEntry, do: func(l *Log) error {
			_, err := l.Invite(op, Invitation{Token: token(1), Zone: "z", Role: RoleClient}, at(h))
			return err
		}},
		{name: "invite without token", want: ErrBadEntry, do: func(l *Log) error {
			_, err := l.Invite(op, Invitation{Zone: "z", Role: RoleClient, Expiry: at(2 * h)}, at(h))
			return err
		}},
		{name: "withdraw an open invite", setup: func(t testing.TB, l *Log) {
			ok(t, invite(l, 1, "z", RoleClient, 2*h, h))
		}, do: func(l *Log) error { _, err := l.WithdrawInvite(op, token(1), at(90*time.Minute)); return err }},
		{name: "withdraw by another operator", setup: func(t testing.TB, l *Log) {
			ok(t, invite(l, 1, "z", RoleClient, 2*h, h))
			_, err := l.AddOperator(op, op2.Public(), at(h))
			ok(t, err)
		}, do: func(l *Log) error { _, err := l.WithdrawInvite(op2, token(1), at(90*time.Minute)); return err }},
		{name: "withdraw an expired invite", setup: func(t testing.TB, l *Log) {
			ok(t, invite(l, 1, "z", RoleClient, 2*h, h))
		}, do: func(l *Log) error { _, err := l.WithdrawInvite(op, token(1), at(3*h)); return err }},
		{name: "withdraw twice", want: ErrTokenWithdrawn, setup: func(t testing.TB, l *Log) {
			ok(t, invite(l, 1, "z", RoleClient, 2*h, h))
			_, err := l.WithdrawInvite(op, token(1), at(90*time.Minute))
			ok(t, err)
		}, do: func(l *Log) error { _, err := l.WithdrawInvite(op, token(1), at(100*time.Minute)); return err }},
		{name: "withdraw a consumed invite", want: ErrTokenUsed, setup: func(t testing.TB, l *Log) {
			ok(t, invite(l, 1, "z", RoleClient, 2*h, h))
			ok(t, admit(l, op, withTok(admission(1, "z", RoleClient), 1), 90*time.Minute))
		}, do: func(l *Log) error { _, err := l.WithdrawInvite(op, token(1), at(100*time.Minute)); return err }},
		{name: "withdraw a token no invite recorded", want: ErrBadEntry, do: func(l *Log) error {
			_, err := l.WithdrawInvite(op, token(1), at(h))
			return err
		}},
		{name: "withdraw a token an unrecorded admit consumed", want: ErrTokenUsed, setup: func(t testing.TB, l *Log) {
			ok(t, admit(l, op, withTok(admission(1, "z", RoleClient), 1), h))
		}, do: func(l *Log) error { _, err := l.WithdrawInvite(op, token(1), at(2*h)); return err }},
		{name: "withdraw without token", want: ErrBadEntry, do: func(l *Log) error {
			_, err := l.WithdrawInvite(op, TokenHash{}, at(h))
			return err
		}},
		{name: "withdraw by a non-operator", want: ErrNotOperator, setup: func(t testing.TB, l *Log) {
			ok(t, invite(l, 1, "z", RoleClient, 2*h, h))
		}, do: func(l *Log) error { _, err := l.WithdrawInvite(stranger, token(1), at(90*time.Minute)); return err }},
		{name: "withdraw with a field of another kind", want: ErrBadEntry, setup: func(t testing.TB, l *Log) {
			ok(t, invite(l, 1, "z", RoleClient, 2*h, h))
		}, do: func(l *Log) error {
			e := next(l, KindWithdrawInvite, at(90*time.Minute))
			e.Token, e.Zone = token(1), "z"
			return l.Append(signed(op, e))
		}},
		{name: "withdraw with an expiry", want: ErrBadEntry, setup: func(t testing.TB, l *Log) {
			ok(t, invite(l, 1, "z", RoleClient, 2*h, h))
		}, do: func(l *Log) error {
			e := next(l, KindWithdrawInvite, at(90*time.Minute))
			e.Token, e.Expiry = token(1), at(2*h)
			return l.Append(signed(op, e))
		}},
		{name: "admit with a withdrawn token", want: ErrTokenWithdrawn, setup: func(t testing.TB, l *Log) {
			ok(t, invite(l, 1, "z", RoleClient, 2*h, h))
			_, err := l.WithdrawInvite(op, token(1), at(90*time.Minute))
			ok(t, err)
		}, do: func(l *Log) error { return admit(l, op, withTok(admission(1, "z", RoleClient), 1), 100*time.Minute) }},
		{name: "invite recording a withdrawn token", want: ErrTokenUsed, setup: func(t testing.TB, l *Log) {
			ok(t, invite(l, 1, "z", RoleClient, 2*h, h))
			_, err := l.WithdrawInvite(op, token(1), at(90*time.Minute))
			ok(t, err)
		}, do: func(l *Log) error { return invite(l, 1, "z", RoleClient, 3*h, 100*time.Minute) }},
		{name: "add operator", do: func(l *Log) error { _, err := l.AddOperator(op, op2.Public(), at(h)); return err }},
		{name: "add an operator twice", want: ErrBadEntry, do: func(l *Log) error { _, err := l.AddOperator(op, op.Public(), at(h)); return err }},
		{name: "add the zero key", want: ErrBadEntry, do: func(l *Log) error { _, err := l.AddOperator(op, OperatorPub{}, at(h)); return err }},
		{name: "add beyond MaxOperators", want: ErrBadEntry, setup: func(t testing.TB, l *Log) {
			for i := 2; i <= MaxOperators; i++ {
				_, err := l.AddOperator(op, key(byte(i)).Public(), at(h))
				ok(t, err)
			}
		}, do: func(l *Log) error { _, err := l.AddOperator(op, key(200).Public(), at(h)); return err }},
		{name: "new operator signs", setup: func(t testing.TB, l *Log) {
			_, err := l.AddOperator(op, op2.Public(), at(h))
			ok(t, err)
		}, do: func(l *Log) error { return admit(l, op2, admission(1, "z", RoleStorage), 2*h) }},
		{name: "remove the last operator", want: ErrBadEntry, do: func(l *Log) error {
			_, err := l.RemoveOperator(op, op.Public(), at(h))
			return err
		}},
		{name: "remove a non-operator", want: ErrBadEntry, do: func(l *Log) error {
			_, err := l.RemoveOperator(op, op2.Public(), at(h))
			return err
		}},
		{name: "operator removes itself", setup: func(t testing.TB, l *Log) {
			_, err := l.AddOperator(op, op2.Public(), at(h))
			ok(t, err)
		}, do: func(l *Log) error { _, err := l.RemoveOperator(op, op.Public(), at(2*h)); return err }},
		{name: "removed operator can no longer sign", want: ErrNotOperator, setup: func(t testing.TB, l *Log) {
			_, err := l.AddOperator(op, op2.Public(), at(h))
			ok(t, err)
			_, err = l.RemoveOperator(op2, op.Public(), at(2*h))
			ok(t, err)
		}, do: func(l *Log) error { return admit(l, op, admission(1, "z", RoleStorage), 3*h) }},
		{name: "removed operator cannot re-add itself", want: ErrNotOperator, setup: func(t testing.TB, l *Log) {
			_, err := l.AddOperator(op, op2.Public(), at(h))
			ok(t, err)
			_, err = l.RemoveOperator(op2, op.Public(), at(2*h))
			ok(t, err)
		}, do: func(l *Log) error { _, err := l.AddOperator(op, op.Public(), at(3*h)); return err }},
		{name: "time within the skew", setup: func(t testing.TB, l *Log) {
			ok(t, admit(l, op, admission(1, "z", RoleStorage), h))
		}, do: func(l *Log) error { return admit(l, op, admission(2, "z", RoleStorage), h-MaxClockSkew) }},
		{name: "time beyond the skew", want: ErrBadEntry, setup: func(t testing.TB, l *Log) {
			ok(t, admit(l, op, admission(1, "z", RoleStorage), h))
		}, do: func(l *Log) error {
			return admit(l, op, admission(2, "z", RoleStorage), h-MaxClockSkew-time.Millisecond)
		}},
		{name: "skew counts from the latest time, not the last entry", want: ErrBadEntry, setup: func(t testing.TB, l *Log) {
			ok(t, admit(l, op, admission(1, "z", RoleStorage), h))
			ok(t, admit(l, op, admission(2, "z", RoleStorage), h-MaxClockSkew))
		}, do: func(l *Log) error {
			return admit(l, op, admission(3, "z", RoleStorage), h-MaxClockSkew-time.Millisecond)
		}},
		{name: "append: wrong seq", want: ErrBrokenChain, do: func(l *Log) error {
			e := next(l, KindAdmit, at(h))
			e.Seq++
			e.Peer, e.Zone, e.Role = peer(1), "z", RoleStorage
			return l.Append(signed(op, e))
		}},
		{name: "append: wrong prev", want: ErrFork, do: func(l *Log) error {
			e := next(l, KindAdmit, at(h))
			e.Prev[0] ^= 1
			e.Peer, e.Zone, e.Role = peer(1), "z", RoleStorage
			return l.Append(signed(op, e))
		}},
		{name: "append: altered after signing", want: ErrBadSignature, do: func(l *Log) error {
			e := next(l, KindAdmit, at(h))
			e.Peer, e.Zone, e.Role = peer(1), "z", RoleClient
			signed(op, e).Role = RoleStorage
			return l.Append(e)
		}},
		{name: "append: signer swapped for an operator", want: ErrBadSignature, setup: func(t testing.TB, l *Log) {
			_, err := l.AddOperator(op, op2.Public(), at(h))
			ok(t, err)
		}, do: func(l *Log) error {
			e := next(l, KindAdmit, at(2*h))
			e.Peer, e.Zone, e.Role = peer(1), "z", RoleStorage
			signed(stranger, e).Signer = op2.Public()
			return l.Append(e)
		}},
		{name: "append: second genesis", want: ErrBadEntry, do: func(l *Log) error {
			e := next(l, KindGenesis, at(h))
			e.EC, e.Operators = "4+2", []OperatorPub{op.Public()}
			return l.Append(signed(op, e))
		}},
		{name: "append: unknown kind", want: ErrBadEntry, do: func(l *Log) error {
			return l.Append(signed(op, next(l, "promote", at(h))))
		}},
		{name: "append: unknown version", want: ErrBadEntry, do: func(l *Log) error {
			e := next(l, KindAdmit, at(h))
			e.Version = 2
			e.Peer, e.Zone, e.Role = peer(1), "z", RoleStorage
			return l.Append(signed(op, e))
		}},
		{name: "append: field of another kind", want: ErrBadEntry, do: func(l *Log) error {
			e := next(l, KindAdmit, at(h))
			e.Peer, e.Zone, e.Role, e.Reason = peer(1), "z", RoleStorage, "because"
			return l.Append(signed(op, e))
		}},
		{name: "append: time before 1970", want: ErrBadEntry, do: func(l *Log) error {
			e := next(l, KindAdmit, time.Unix(-5, 0))
			e.Peer, e.Zone, e.Role = peer(1), "z", RoleStorage
			return l.Append(signed(op, e))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newLog(t)
			if c.setup != nil {
				c.setup(t, l)
			}
			seq, hash := l.Head()
			err := c.do(l)
			wantErr(t, err, c.want)
			s2, h2 := l.Head()
			if c.want != nil && (s2 != seq || h2 != hash) {
				t.Fatal("a refused entry changed the log")
			}
			if c.want == nil && s2 != seq+1 {
				t.Fatalf("head seq %d after an accepted entry, want %d", s2, seq+1)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestGenesis(t *testing.T) {
	cases := []struct {
		name string
		op   OperatorKey
		s    Settings
		want error
	}{
		{"default", key(1), Settings{}, nil},
		{"pinned ec and co-operators", key(1), Settings{EC: "10+4", CoOperators: []OperatorPub{key(2).Public()}}, nil},
		{"ec k+0", key(1), Settings{EC: "1+0"}, nil},
		{"bad ec", key(1), Settings{EC: "4-2"}, ErrBadEntry},
		{"ec leading zero", key(1), Settings{EC: "04+2"}, ErrBadEntry},
		{"ec too large", key(1), Settings{EC: "200+57"}, ErrBadEntry},
		{"ec k=0", key(1), Settings{EC: "0+2"}, ErrBadEntry},
		{"duplicate operator", key(1), Settings{CoOperators: []OperatorPub{key(1).Public()}}, ErrBadEntry},
		{"zero co-operator", key(1), Settings{CoOperators: []OperatorPub{{}}}, ErrBadEntry},
		{"zero key", OperatorKey{}, Settings{}, ErrNotOperator},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := Genesis(c.op, c.s, t0)
			wantErr(t, err, c.want)
			if err != nil {
				return
			}
			if seq, h := l.Head(); seq != 0 || MeshID(h) != l.MeshID() {
				t.Fatalf("head %d %s, mesh %s", seq, h, l.MeshID())
			}
			ec := c.s.EC
			if ec == "" {
				ec = DefaultEC
			}
			if l.EC() != ec || !l.Created().Equal(t0) {
				t.Fatalf("EC %q created %s", l.EC(), l.Created())
			}
			if got := len(l.Operators()); got != 1+len(c.s.CoOperators) {
				t.Fatalf("%d operators", got)
			}
			for _, o := range append(c.s.CoOperators, c.op.Public()) {
				if !l.IsOperator(o) {
					t.Fatalf("%s is not an operator", o.Fingerprint())
				}
			}
		})
	}
	// Genesis signed by a key that is not among its operators.
	e := &Entry{Version: Version, Kind: KindGenesis, Time: t0, EC: "4+2", Operators: []OperatorPub{key(2).Public()}}
	if _, err := DecodeEntry(signed(key(1), e).Marshal()); !errors.Is(err, ErrBadEntry) {
		t.Fatalf("genesis signed by an outsider: %v", err)
	}
	// Another mesh's creation differs.
	b, err := Genesis(key(1), Settings{}, t0.Add(time.Millisecond))
	if err != nil || newLog(t).MeshID() == b.MeshID() {
		t.Fatal("two meshes share an ID")
	}
}
