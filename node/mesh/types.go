package mesh

import (
	"unicode/utf8"

	"respaldo/node/roster"
)

// PeerID, Zone and Role are the roster's: a node's libp2p peer ID in its
// string form, an operator-given failure-domain label, and what the roster
// says a node does. They are one type each across the mesh code.
type (
	PeerID = roster.PeerID
	Zone   = roster.Zone
	Role   = roster.Role
)

// Roles (DESIGN.md, "Words"). The zero Role is no role: not a member.
const (
	RoleStorage = roster.RoleStorage // holds shards: servers, always-on boxes
	RoleClient  = roster.RoleClient  // backs up, holds no shards: laptops
)

// Member is what the roster says of an admitted peer. Table.SetMembers
// takes it; zone and role are never taken from what a node says of itself.
type Member struct {
	Zone Zone
	Role Role
}

// Length limits for the text fields of a heartbeat, in bytes.
const (
	MaxPeerIDLen   = 128
	MaxZoneLen     = 64
	MaxSoftwareLen = 64
)

// validPeerID: 1..MaxPeerIDLen bytes of printable ASCII without spaces
// (base58 and base32 peer IDs are far narrower).
func validPeerID(id PeerID) bool {
	if len(id) == 0 || len(id) > MaxPeerIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// validLabel: at most max bytes of UTF-8 without control characters.
func validLabel(s string, max int) bool {
	if len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}
