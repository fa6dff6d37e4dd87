package node

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"respaldo/node/roster"
)

// testInvite is a fixed invite (token of zeros from a zero reader).
func testInvite(t testing.TB) Invite {
	t.Helper()
	id, err := peer.Decode("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA")
	if err != nil {
		t.Fatal(err)
	}
	addrs := []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/4001"), ma.StringCast("/ip4/127.0.0.1/udp/4001/quic-v1")}
	inv, err := NewInvite(bytes.NewReader(make([]byte, 32)), roster.MeshID{1, 2, 3},
		peer.AddrInfo{ID: id, Addrs: addrs}, "z2", roster.RoleStorage, time.Unix(1900000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestInviteRoundTrip(t *testing.T) {
	inv := testInvite(t)
	s := inv.String()
	if !strings.HasPrefix(s, InvitePrefix) || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }) {
		t.Fatalf("not one plain line: %q", s)
	}
	t.Logf("%d chars: %s", len(s), s)
	// A chat app's line breaks and spaces, and upper case, do not matter.
	mangled := "  " + strings.ToUpper(s[:20]) + "\n" + s[20:40] + " \r\n\t" + s[40:] + "\n"
	for _, in := range []string{s, mangled} {
		got, err := ParseInvite(in)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != s || got.Mesh != inv.Mesh || got.Token != inv.Token || got.Zone != "z2" ||
			got.Role != roster.RoleStorage || !got.Expiry.Equal(inv.Expiry) || got.Inviter != inv.Inviter || len(got.Addrs) != 2 {
			t.Fatalf("round trip: %+v", got)
		}
	}
}

// TestInviteMangled: every single-character change, deletion and
// insertion of the body is caught by the checksum.
func TestInviteMangled(t *testing.T) {
	s := testInvite(t).String()
	body := s[len(InvitePrefix):]
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	check := func(m string) {
		t.Helper()
		if _, err := ParseInvite(m); !errors.Is(err, ErrInviteChecksum) {
			t.Fatalf("%q: %v, want the checksum error", m, err)
		}
	}
	for i := range len(body) {
		for _, c := range alphabet + "01-_" {
			if byte(c) != body[i] {
				check(InvitePrefix + body[:i] + string(c) + body[i+1:])
			}
		}
		check(InvitePrefix + body[:i] + body[i+1:])
		check(InvitePrefix + body[:i] + "q" + body[i:])
	}
	check(s[:len(s)-1])
	check(InvitePrefix)
	if ErrInviteChecksum.Error() != "invite: checksum mismatch — was it copied whole?" {
		t.Fatal(ErrInviteChecksum)
	}
}

func TestInviteBad(t *testing.T) {
	s := testInvite(t).String()
	for _, c := range []struct {
		in   string
		want error
	}{
		{"", ErrInvitePrefix},
		{"respaldo2" + s[9:], ErrInvitePrefix},
		{"xrespaldo1" + s[9:], ErrInvitePrefix},
		{s[9:], ErrInvitePrefix},
		{InvitePrefix + strings.Repeat("a", maxInviteChars+1), ErrInviteChecksum},
		{InvitePrefix + "!!!!", ErrInviteChecksum},
		// a valid checksum over a payload that is not an invite
		{withChecksum([]byte{0xa0}), ErrBadInvite},
		{withChecksum([]byte("not cbor")), ErrBadInvite},
	} {
		if _, err := ParseInvite(c.in); !errors.Is(err, c.want) {
			t.Errorf("%.40q: %v, want %v", c.in, err, c.want)
		}
	}
	inv := testInvite(t)
	for name, mut := range map[string]func(*Invite){
		"zone":   func(i *Invite) { i.Zone = "" },
		"role":   func(i *Invite) { i.Role = "admin" },
		"expiry": func(i *Invite) { i.Expiry = time.Unix(0, 0) },
		"addrs":  func(i *Invite) { i.Addrs = nil },
		"peer":   func(i *Invite) { i.Inviter = "" },
	} {
		bad := inv
		mut(&bad)
		if _, err := bad.wire(); !errors.Is(err, ErrBadInvite) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// withChecksum spells payload as an invite with a correct checksum.
func withChecksum(payload []byte) string {
	sum := sha256.Sum256(payload)
	return InvitePrefix + inviteB32.EncodeToString(append(payload, sum[:inviteChecksum]...))
}

func FuzzParseInvite(f *testing.F) {
	f.Add(testInvite(f).String())
	f.Add("respaldo1")
	f.Add(withChecksum([]byte{0xa0}))
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := ParseInvite(s)
		if err != nil {
			return
		}
		again, err := ParseInvite(inv.String())
		if err != nil || again.String() != inv.String() {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
