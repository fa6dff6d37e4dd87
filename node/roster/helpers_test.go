package roster

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// t0 is the mesh's creation time in tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// key returns a deterministic operator key named by n.
func key(n byte) OperatorKey {
	var seed [32]byte
	for i := range seed {
		seed[i] = n
	}
	return OperatorKeyFromSeed(seed)
}

func token(n int) TokenHash { return HashToken(fmt.Appendf(nil, "token-%d", n)) }

func peer(n int) PeerID { return PeerID(fmt.Sprintf("12D3KooWPeer%04d", n)) }

// newLog returns a mesh created by key(1) at t0.
func newLog(t testing.TB) *Log {
	t.Helper()
	l, err := Genesis(key(1), Settings{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// done(t)(l.Admit(…)) fails the test on error and returns the entry.
func done(t testing.TB) func(*Entry, error) *Entry {
	return func(e *Entry, err error) *Entry {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if want == nil && err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

// next returns an unsigned entry that would follow l's head, dated at.
func next(l *Log, kind Kind, at time.Time) *Entry {
	seq, h := l.Head()
	return &Entry{Version: Version, Seq: seq + 1, Prev: h, Kind: kind, Time: at}
}

func signed(op OperatorKey, e *Entry) *Entry {
	signInto(op, e)
	return e
}

func admission(n int, z Zone, r Role) Admission {
	return Admission{Peer: peer(n), Zone: z, Role: r}
}
