package api

import (
	"fmt"
	"time"
)

// The operator-side wire types. Their JSON keys are the contract of CLI.md:
// add keys freely, rename or remove none. IDs are strings (peer IDs as
// libp2p prints them, snapshot IDs as 64 hex digits), times are RFC 3339.

// Status answers GET /v1/status (respaldo status).
type Status struct {
	PeerID      string `json:"peer_id"`
	Zone        string `json:"zone"`
	Version     string `json:"version"`
	PeersTotal  int    `json:"peers_total"`  // admitted peers besides this node
	PeersOnline int    `json:"peers_online"` // of which connected now
	Shards      int64  `json:"shards"`       // shards this node holds
	UsedBytes   int64  `json:"used_bytes"`
	FreeBytes   int64  `json:"free_bytes"`
	// Stripes counts the stripes this node holds a shard of, as it sees them.
	Stripes     StripeCounts `json:"stripes"`
	RepairQueue int          `json:"repair_queue"`
	// ToleratesLosses is how many more peers the weakest of those stripes
	// can lose and still be read.
	ToleratesLosses int `json:"tolerates_losses"`
}

// StripeCounts is Status.Stripes.
type StripeCounts struct {
	Healthy  int64 `json:"healthy"`
	Degraded int64 `json:"degraded"`
	AtRisk   int64 `json:"at_risk"`
	Lost     int64 `json:"lost"`
}

// Peer is one entry of GET /v1/peers (respaldo peers): every other admitted
// peer, not this node.
type Peer struct {
	ID        string    `json:"id"`
	Zone      string    `json:"zone"`
	Role      string    `json:"role"` // "storage" or "client"
	Addrs     []string  `json:"addrs"`
	Connected bool      `json:"connected"`
	LastSeen  time.Time `json:"last_seen"` // zero time: never seen
	LatencyMS float64   `json:"latency_ms"`
	// Availability is the fraction of recent heartbeats answered, 0 to 1.
	Availability float64 `json:"availability"`
	FreeBytes    int64   `json:"free_bytes"`
	UsedBytes    int64   `json:"used_bytes"`
	Shards       int64   `json:"shards"`
	Version      string  `json:"version"`
}

// RosterEntry is one entry of GET /v1/roster (respaldo roster), in log order.
type RosterEntry struct {
	Seq      uint64    `json:"seq"`
	Kind     string    `json:"kind"` // genesis, admit, revoke, invite, add-operator, remove-operator
	PeerID   string    `json:"peer_id"`
	Zone     string    `json:"zone"`
	Role     string    `json:"role"`
	SignedBy string    `json:"signed_by"` // the operator key's fingerprint
	Time     time.Time `json:"time"`
	// Expiry is when an admitted node's membership ends (admit entries
	// made with invite --expires or renew; absent: never).
	Expiry time.Time `json:"expiry,omitzero"`
	// Operator is the fingerprint of the key an add-operator or
	// remove-operator entry adds or removes (absent on other entries).
	Operator string `json:"operator,omitempty"`
}

// InviteRequest is the body of POST /v1/invite (respaldo invite).
type InviteRequest struct {
	Zone string   `json:"zone,omitempty"` // default: the node's zone
	Role string   `json:"role,omitempty"` // "storage" (default) or "client"
	TTL  Duration `json:"ttl,omitzero"`   // default: the node's choice
	// MemberFor, when set (--expires), ends the new node's membership
	// that long after it joins: the admit entry carries that expiry, and
	// the node is refused from then on unless renewed (respaldo renew).
	MemberFor Duration `json:"member_for,omitzero"`
	// OperatorKey is the operator key file's contents (--operator-key F),
	// for a node that holds none itself.
	OperatorKey Secret `json:"operator_key,omitzero"`
}

// Invite answers POST /v1/invite.
type Invite struct {
	Invite  string    `json:"invite"` // the respaldo1… line for 'respaldo join'
	MeshID  string    `json:"mesh_id"`
	Zone    string    `json:"zone"`
	Role    string    `json:"role"`
	Expires time.Time `json:"expires"`
	Addrs   []string  `json:"addrs"` // the inviting node's reachable multiaddrs
}

// RevokeRequest is the body of POST /v1/revoke (respaldo revoke PEER_ID).
type RevokeRequest struct {
	PeerID      string `json:"peer_id"`
	OperatorKey Secret `json:"operator_key,omitzero"`
	Reason      string `json:"reason,omitempty"` // --reason: kept in the roster entry
	// Force (--force) lets this revocation make more than m storage nodes
	// revoked within 24 h (m of the mesh's k+m).
	Force bool `json:"force,omitempty"`
}

// RevokeResult answers POST /v1/revoke.
type RevokeResult struct {
	Revoked string `json:"revoked"`
}

// RenewRequest is the body of POST /v1/renew (respaldo renew PEER_ID --for D).
type RenewRequest struct {
	PeerID      string   `json:"peer_id"`
	For         Duration `json:"for"` // the membership then ends this long from now
	OperatorKey Secret   `json:"operator_key,omitzero"`
}

// OperatorAddRequest is the body of POST /v1/operator-add (respaldo
// operator add): the public key of a new operator key, which the CLI made
// and wrote where the user said; its private half never reaches the node.
type OperatorAddRequest struct {
	PublicKey   string `json:"public_key"` // 64 hex characters
	OperatorKey Secret `json:"operator_key,omitzero"`
}

// OperatorRemoveRequest is the body of POST /v1/operator-remove (respaldo
// operator remove): the fingerprint of the operator key to remove, as
// 'respaldo roster' shows it (signed_by, operator).
type OperatorRemoveRequest struct {
	Fingerprint string `json:"fingerprint"`
	OperatorKey Secret `json:"operator_key,omitzero"`
}

// OperatorResult answers POST /v1/operator-add and /v1/operator-remove.
type OperatorResult struct {
	Fingerprint string   `json:"fingerprint"` // the key added or removed
	Operators   []string `json:"operators"`   // the fingerprints of the operators now
	Seq         uint64   `json:"seq"`         // the roster entry
}

// RenewResult answers POST /v1/renew.
type RenewResult struct {
	Renewed string    `json:"renewed"` // the peer ID
	Expires time.Time `json:"expires"` // its membership's new end
}

// DrainResult answers POST /v1/drain (respaldo drain).
type DrainResult struct {
	Moved     int64 `json:"moved"`     // shards moved to other peers
	Remaining int64 `json:"remaining"` // shards still here (0: safe to take down)
	// Why some shards remain, in one line (absent when none do).
	Why string `json:"why,omitempty"`
}

// Duration is a time.Duration that is a Go duration string in JSON ("72h0m0s";
// "72h" is accepted).
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("bad duration %q (want e.g. 72h or 30m)", b)
	}
	*d = Duration(v)
	return nil
}
