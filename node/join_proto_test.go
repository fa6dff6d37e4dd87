package node

import (
	"bufio"
	"crypto/rand"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"respaldo/node/roster"
)

// serveOnce answers one join request on conn with ans (the inviter side,
// as a fake), after checking the request carries inv's mesh and token.
func serveOnce(t *testing.T, conn net.Conn, inv Invite, ans joinAnswer) {
	defer conn.Close()
	var req joinRequest
	if err := readFrame(bufio.NewReader(conn), maxJoinRequest, &req); err != nil {
		t.Errorf("request: %v", err)
		return
	}
	if req.Version != 1 || roster.MeshID(req.Mesh) != inv.Mesh || [32]byte(req.Token) != inv.Token {
		t.Errorf("request %+v", req)
	}
	_ = writeFrame(conn, &ans)
}

// TestJoinExchange runs the joining side against fake inviters over a
// pipe: refusal codes, a roster of another mesh, an unknown code.
func TestJoinExchange(t *testing.T) {
	op, err := roster.GenerateOperatorKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	l, err := roster.Genesis(op, roster.Settings{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	inv := testInvite(t)
	inv.Mesh = l.MeshID()
	other := inv
	other.Mesh[0] ^= 1
	for _, c := range []struct {
		inv  Invite
		ans  joinAnswer
		want error
		text string
	}{
		{inv, joinAnswer{Version: 1, Roster: l.Marshal()}, nil, ""},
		{other, joinAnswer{Version: 1, Roster: l.Marshal()}, nil, "the roster of mesh"},
		{inv, joinAnswer{Version: 1, Code: "token-used"}, ErrJoinTokenUsed, "token-used"},
		{inv, joinAnswer{Version: 1, Code: "expired"}, ErrJoinExpired, "expired"},
		{inv, joinAnswer{Version: 1, Code: "not-operator"}, ErrJoinNotOperator, "not-operator"},
		{inv, joinAnswer{Version: 1, Code: "withdrawn"}, ErrJoinWithdrawn, "withdrawn"},
		{inv, joinAnswer{Version: 1, Code: "rate-limited"}, ErrJoinRateLimited, "rate-limited"},
		{inv, joinAnswer{Version: 1, Code: "weird\ncode"}, nil, `"weird\ncode"`},
		{inv, joinAnswer{Version: 2}, nil, "version 2"},
		{inv, joinAnswer{Version: 1, Roster: []byte{1, 2}}, roster.ErrBadEntry, ""},
	} {
		a, b := net.Pipe()
		_ = a.SetDeadline(time.Now().Add(scale(5 * time.Second)))
		go serveOnce(t, b, c.inv, c.ans)
		got, err := joinExchange(a, c.inv)
		a.Close()
		switch {
		case c.want == nil && c.text == "":
			if err != nil || got.MeshID() != inv.Mesh {
				t.Errorf("%+v: %v", c.ans, err)
			}
		case c.want != nil && !errors.Is(err, c.want), err == nil || !strings.Contains(err.Error(), c.text),
			strings.Contains(err.Error(), "\n"):
			t.Errorf("%+v: %v, want %v %q", c.ans, err, c.want, c.text)
		}
	}
	// An answer beyond the cap is not read.
	a, b := net.Pipe()
	go func() {
		defer b.Close()
		var req joinRequest
		_ = readFrame(bufio.NewReader(b), maxJoinRequest, &req)
		_, _ = b.Write([]byte{0xff, 0xff, 0xff, 0xff, 0x7f})
	}()
	_ = a.SetDeadline(time.Now().Add(scale(5 * time.Second)))
	if _, err := joinExchange(a, inv); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversized answer: %v", err)
	}
	a.Close()
}
