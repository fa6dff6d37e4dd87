package roster

import (
	"bytes"
	"testing"
	"time"
)

// corpus returns a log with an entry of every kind.
func corpus(t testing.TB) *Log {
	l := newLog(t)
	done(t)(l.AddOperator(key(1), key(2).Public(), t0))
	done(t)(l.Invite(key(1), Invitation{Token: token(1), Zone: "z", Role: RoleClient, Expiry: t0.Add(time.Hour)}, t0))
	done(t)(l.Admit(key(2), Admission{Peer: peer(1), Zone: "z", Role: RoleClient, Token: token(1), Expiry: t0.Add(time.Hour)}, t0))
	done(t)(l.Invite(key(1), Invitation{Token: token(2), Zone: "z", Role: RoleStorage, Expiry: t0.Add(time.Hour)}, t0))
	done(t)(l.WithdrawInvite(key(2), token(2), t0))
	done(t)(l.Admit(key(2), admission(2, "zona sur", RoleStorage), t0))
	done(t)(l.Revoke(key(1), peer(1), "seized", t0))
	done(t)(l.RemoveOperator(key(2), key(1).Public(), t0))
	return l
}

// FuzzDecodeEntry: outside bytes never panic, and what decodes re-encodes
// to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	for _, e := range corpus(f).Entries() {
		f.Add(e.Marshal())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEntry(b)
		if err != nil {
			return
		}
		if !bytes.Equal(e.Marshal(), b) {
			t.Fatalf("re-encodes differently")
		}
		if err := e.check(); err != nil {
			t.Fatalf("decoded an entry that fails its own check: %v", err)
		}
		_ = e.View()
	})
}

// FuzzDecodeLog: outside bytes never panic, and what decodes re-encodes to
// the same bytes.
func FuzzDecodeLog(f *testing.F) {
	l := corpus(f)
	f.Add(l.Marshal())
	f.Add(newLog(f).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Decode(b)
		if err != nil {
			return
		}
		if !bytes.Equal(l.Marshal(), b) {
			t.Fatalf("re-encodes differently")
		}
		l.Members(t0)
		l.RevocationsSince(t0)
	})
}
