package roster

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PeerID is a libp2p peer ID in its string form (e.g. "12D3KooW…"). The
// roster treats it as an opaque name: 1 to MaxPeerIDLen bytes of printable
// ASCII without spaces.
type PeerID string

// Zone is an operator-given failure-domain label (a site, a city): 1 to
// MaxZoneLen bytes of printable UTF-8.
type Zone string

// Role says what an admitted node does in the mesh.
type Role string

const (
	// RoleStorage holds shards (servers, always-on boxes).
	RoleStorage Role = "storage"
	// RoleClient backs up and holds no shards (laptops).
	RoleClient Role = "client"
)

// Limits on entry fields; an entry beyond them is ErrBadEntry.
const (
	MaxPeerIDLen = 128
	MaxZoneLen   = 64
	MaxReasonLen = 256
	MaxOperators = 32 // operator keys in the set at any time
)

// Hash is the SHA-256 of an entry's canonical bytes (signature included).
// Its String is lower-case hex.
type Hash [32]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MeshID names a mesh: the Hash of its genesis entry. Invites carry it and a
// joining node checks the roster it receives against it.
type MeshID Hash

func (id MeshID) String() string { return hex.EncodeToString(id[:]) }

// TokenHash is HashToken of an invite token. The roster only ever sees the
// hash; the token itself travels in the invite.
type TokenHash [32]byte

func (t TokenHash) String() string { return hex.EncodeToString(t[:]) }

// HashToken returns SHA-256("respaldo/v1/invite-token" || 0x00 || token),
// the form in which admit and invite entries name an invite token.
func HashToken(token []byte) TokenHash {
	h := sha256.New()
	h.Write([]byte("respaldo/v1/invite-token\x00"))
	h.Write(token)
	return TokenHash(h.Sum(nil))
}

// Status is what the roster says of a peer at a given time.
type Status int

const (
	Unknown  Status = iota // never admitted
	Admitted               // admitted, not expired, not revoked
	Expired                // admitted with an expiry that has passed, not renewed
	Revoked                // revoked; final
)

func (s Status) String() string {
	switch s {
	case Admitted:
		return "admitted"
	case Expired:
		return "expired"
	case Revoked:
		return "revoked"
	}
	return "unknown"
}

// DefaultEC is the erasure geometry a mesh pins when Settings.EC is empty.
const DefaultEC = "4+2"

// ParseEC reads a pinned erasure geometry "k+m" (decimal without leading
// zeros, 1 <= k, 0 <= m, k+m <= 256), e.g. "4+2".
func ParseEC(s string) (k, m int, err error) {
	ks, ms, ok := strings.Cut(s, "+")
	k, kerr := strconv.Atoi(ks)
	m, merr := strconv.Atoi(ms)
	if !ok || kerr != nil || merr != nil || strconv.Itoa(k)+"+"+strconv.Itoa(m) != s ||
		k < 1 || m < 0 || k+m > 256 {
		return 0, 0, fmt.Errorf("%w: erasure geometry %q is not k+m with 1 <= k, k+m <= 256, e.g. 4+2", ErrBadEntry, s)
	}
	return k, m, nil
}

func validPeer(p PeerID) bool {
	if len(p) == 0 || len(p) > MaxPeerIDLen {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] <= ' ' || p[i] > '~' {
			return false
		}
	}
	return true
}

func validRole(r Role) bool { return r == RoleStorage || r == RoleClient }

// printable reports whether s is valid UTF-8 of at most max bytes with no
// control characters (so it prints on one line).
func printable(s string, max int) bool {
	if len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func validZone(z Zone) bool { return z != "" && printable(string(z), MaxZoneLen) }
