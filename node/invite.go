package node

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"respaldo/node/roster"
)

// InvitePrefix starts every invite string; the "1" is the format version.
const InvitePrefix = "respaldo1"

const (
	// MaxInviteAddrs caps the inviter addresses an invite carries.
	MaxInviteAddrs = 8
	// maxInviteAddrLen caps one address's bytes; maxInviteChars a whole
	// invite string (whitespace removed) before it is decoded.
	maxInviteAddrLen = 128
	maxInviteChars   = 2048
	inviteChecksum   = 4 // bytes of SHA-256(payload) after the payload
)

// Invite errors, each one line for the user.
var (
	// ErrInviteChecksum: the string decodes to bytes whose checksum does
	// not match, or does not decode at all: it was mangled in transit.
	ErrInviteChecksum = errors.New("invite: checksum mismatch — was it copied whole?")
	// ErrInvitePrefix: the string is not a respaldo invite (of this version).
	ErrInvitePrefix = errors.New("invite: not a respaldo invite (it must start with " + InvitePrefix + ")")
	// ErrBadInvite: the checksum holds but the contents break a rule
	// (wrapped message says which): made by other software, or a bug.
	ErrBadInvite = errors.New("invite: malformed")
)

// Invite is what a joining node needs: which mesh, a single-use token, the
// zone and role it will be admitted with, until when, and whom to dial.
// Invites are values; Addrs is shared by copies, do not modify it.
type Invite struct {
	Mesh    roster.MeshID
	Token   [32]byte
	Zone    roster.Zone
	Role    roster.Role
	Expiry  time.Time // whole seconds; the token is refused from then on
	Inviter peer.ID
	Addrs   []ma.Multiaddr // 1 … MaxInviteAddrs, the inviter's reachable addresses
}

// wireInvite is the CBOR payload: core deterministic encoding, small
// integer keys, all present (docs/join.md).
type wireInvite struct {
	Version uint64   `cbor:"0,keyasint"`
	Mesh    []byte   `cbor:"1,keyasint"`
	Token   []byte   `cbor:"2,keyasint"`
	Zone    string   `cbor:"3,keyasint"`
	Role    string   `cbor:"4,keyasint"`
	Expiry  int64    `cbor:"5,keyasint"` // Unix seconds
	Inviter []byte   `cbor:"6,keyasint"` // peer ID bytes (multihash)
	Addrs   [][]byte `cbor:"7,keyasint"` // multiaddr bytes
}

var (
	inviteB32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	inviteDec = func() cbor.DecMode {
		dm, err := cbor.DecOptions{
			DupMapKey:         cbor.DupMapKeyEnforcedAPF,
			IndefLength:       cbor.IndefLengthForbidden,
			TagsMd:            cbor.TagsForbidden,
			ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
			MaxNestedLevels:   4,
			MaxArrayElements:  16, // the library minimum; wire() caps addrs at 8
			MaxMapPairs:       16,
		}.DecMode()
		if err != nil {
			panic(err)
		}
		return dm
	}()
)

// NewInvite draws a token from rand and returns the invite for mesh, to be
// served by inviter (its ID and at most MaxInviteAddrs addresses, best
// first; more are cut), for a node of zone and role, valid until expiry
// (truncated to the second).
func NewInvite(rand io.Reader, mesh roster.MeshID, inviter peer.AddrInfo, zone roster.Zone, role roster.Role, expiry time.Time) (Invite, error) {
	inv := Invite{Mesh: mesh, Zone: zone, Role: role, Expiry: time.Unix(expiry.Unix(), 0),
		Inviter: inviter.ID, Addrs: inviter.Addrs[:min(len(inviter.Addrs), MaxInviteAddrs)]}
	if _, err := io.ReadFull(rand, inv.Token[:]); err != nil {
		return Invite{}, fmt.Errorf("invite: token: %w", err)
	}
	if _, err := inv.wire(); err != nil {
		return Invite{}, err
	}
	return inv, nil
}

// TokenHash is the roster's name of the invite's token.
func (inv Invite) TokenHash() roster.TokenHash { return roster.HashToken(inv.Token[:]) }

// AddrInfo is whom the joining node dials.
func (inv Invite) AddrInfo() peer.AddrInfo { return peer.AddrInfo{ID: inv.Inviter, Addrs: inv.Addrs} }

// wire checks inv and returns its payload form.
func (inv Invite) wire() (*wireInvite, error) {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: %s", ErrBadInvite, fmt.Sprintf(f, a...)) }
	switch {
	case inv.Zone == "" || len(inv.Zone) > roster.MaxZoneLen || !printableLine(string(inv.Zone)):
		return nil, bad("zone %q", inv.Zone)
	case inv.Role != roster.RoleStorage && inv.Role != roster.RoleClient:
		return nil, bad("role %q", inv.Role)
	case inv.Expiry.Unix() <= 0:
		return nil, bad("no expiry")
	case inv.Inviter.Validate() != nil:
		return nil, bad("inviter peer ID")
	case len(inv.Addrs) == 0 || len(inv.Addrs) > MaxInviteAddrs:
		return nil, bad("%d inviter addresses (1 … %d)", len(inv.Addrs), MaxInviteAddrs)
	}
	w := &wireInvite{Version: 1, Mesh: inv.Mesh[:], Token: inv.Token[:], Zone: string(inv.Zone),
		Role: string(inv.Role), Expiry: inv.Expiry.Unix(), Inviter: []byte(inv.Inviter)}
	for _, a := range inv.Addrs {
		if a == nil || len(a.Bytes()) > maxInviteAddrLen {
			return nil, bad("inviter address %v", a)
		}
		w.Addrs = append(w.Addrs, a.Bytes())
	}
	return w, nil
}

// String returns the invite as one line: InvitePrefix ‖ base32 (lower
// case, no padding) of payload ‖ SHA-256(payload)[:4]. It panics on an
// invalid Invite (NewInvite and ParseInvite only make valid ones).
func (inv Invite) String() string {
	w, err := inv.wire()
	if err != nil {
		panic(err)
	}
	b, err := syncEnc.Marshal(w)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return InvitePrefix + inviteB32.EncodeToString(append(b, sum[:inviteChecksum]...))
}

// ParseInvite reads an invite string. Whitespace anywhere (line breaks a
// chat app inserted) is ignored, and so is letter case. It checks the
// checksum first (ErrInviteChecksum), then the contents (ErrBadInvite);
// it does not look at the clock: the joining node checks the expiry.
func ParseInvite(s string) (Invite, error) {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
	body, ok := strings.CutPrefix(s, InvitePrefix)
	if !ok {
		return Invite{}, ErrInvitePrefix
	}
	if len(body) > maxInviteChars {
		return Invite{}, ErrInviteChecksum
	}
	raw, err := inviteB32.DecodeString(body)
	// A last character with non-zero unused bits decodes too: demand the
	// canonical spelling, so every changed character is caught.
	if err != nil || len(raw) <= inviteChecksum || inviteB32.EncodeToString(raw) != body {
		return Invite{}, ErrInviteChecksum
	}
	payload, check := raw[:len(raw)-inviteChecksum], raw[len(raw)-inviteChecksum:]
	if sum := sha256.Sum256(payload); !bytes.Equal(sum[:inviteChecksum], check) {
		return Invite{}, ErrInviteChecksum
	}
	var w wireInvite
	if err := inviteDec.Unmarshal(payload, &w); err != nil {
		return Invite{}, fmt.Errorf("%w: %v", ErrBadInvite, err)
	}
	if w.Version != 1 || len(w.Mesh) != 32 || len(w.Token) != 32 {
		return Invite{}, fmt.Errorf("%w: version %d or mesh/token length", ErrBadInvite, w.Version)
	}
	inv := Invite{Mesh: roster.MeshID(w.Mesh), Token: [32]byte(w.Token), Zone: roster.Zone(w.Zone),
		Role: roster.Role(w.Role), Expiry: time.Unix(w.Expiry, 0)}
	if inv.Inviter, err = peer.IDFromBytes(w.Inviter); err != nil {
		return Invite{}, fmt.Errorf("%w: inviter: %v", ErrBadInvite, err)
	}
	for _, b := range w.Addrs {
		a, err := ma.NewMultiaddrBytes(b)
		if err != nil {
			return Invite{}, fmt.Errorf("%w: address: %v", ErrBadInvite, err)
		}
		inv.Addrs = append(inv.Addrs, a)
	}
	// Re-encoding must give the same bytes (one spelling per invite).
	if again, err := inv.wire(); err != nil {
		return Invite{}, err
	} else if b, err := syncEnc.Marshal(again); err != nil || !bytes.Equal(b, payload) {
		return Invite{}, fmt.Errorf("%w: not in canonical form", ErrBadInvite)
	}
	return inv, nil
}

// printableLine reports valid UTF-8 without control characters.
func printableLine(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
