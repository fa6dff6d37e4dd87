package node

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/node/roster"
)

// JoinProtocol trades an invite token for an admit entry: the only
// protocol served to guests of a join window (registered without
// dht.RequireMember). One request per stream; see docs/join.md.
const JoinProtocol = "/respaldo/join/1.0.0"

const (
	joinTimeout    = 10 * time.Second // one exchange, and the dial before it
	maxJoinRequest = 128
	maxJoinAnswer  = 8 << 20 // a whole roster log
)

// Join refusals, as the inviter answers them (one-line codes on the wire,
// these errors at the joining node).
var (
	ErrJoinTokenUsed    = errors.New("join refused: token-used (this invite was already used; ask for a new one)")
	ErrJoinExpired      = errors.New("join refused: expired (the invite expired; ask for a new one)")
	ErrJoinUnknownToken = errors.New("join refused: unknown-token (the inviter issued no such invite)")
	ErrJoinWrongMesh    = errors.New("join refused: wrong-mesh (the inviter belongs to another mesh)")
	ErrJoinNotOperator  = errors.New("join refused: not-operator (the inviter no longer holds an operator key)")
	ErrJoinRevoked      = errors.New("join refused: revoked (this node's peer ID was revoked)")
	ErrJoinInternal     = errors.New("join refused: internal (the inviter could not admit this node; try again)")
	ErrJoinWithdrawn    = errors.New("join refused: withdrawn (an operator withdrew this invite; ask for a new one)")
	ErrJoinRateLimited  = errors.New("join refused: rate-limited (too many join attempts from this address; wait a minute and try again)")
)

// joinCodes maps wire codes to errors, and back.
var joinCodes = map[string]error{
	"token-used": ErrJoinTokenUsed, "expired": ErrJoinExpired, "unknown-token": ErrJoinUnknownToken,
	"wrong-mesh": ErrJoinWrongMesh, "not-operator": ErrJoinNotOperator, "revoked": ErrJoinRevoked,
	"internal": ErrJoinInternal, "withdrawn": ErrJoinWithdrawn, "rate-limited": ErrJoinRateLimited,
}

type joinRequest struct {
	Version uint64 `cbor:"0,keyasint"`
	Mesh    []byte `cbor:"1,keyasint"` // 32 bytes
	Token   []byte `cbor:"2,keyasint"` // 32 bytes, the invite's token itself
}

type joinAnswer struct {
	Version uint64 `cbor:"0,keyasint"`
	Code    string `cbor:"1,keyasint,omitempty"` // absent: admitted
	Roster  []byte `cbor:"2,keyasint,omitempty"` // Log.Marshal, when admitted
}

// serveJoin answers one join request, from a guest or a member. It is
// registered bare: guests reach no other handler. Attempts beyond the join
// limits (per remote address, and in flight) are answered "rate-limited"
// without reading the request.
func (n *Node) serveJoin(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(joinTimeout))
	remote := s.Conn().RemotePeer()
	release, ok := n.joinAttempt(s.Conn().RemoteMultiaddr())
	if !ok {
		n.log.Debug("join refused", "peer", remote, "addr", s.Conn().RemoteMultiaddr(), "code", "rate-limited")
		if writeFrame(s, &joinAnswer{Version: 1, Code: "rate-limited"}) != nil {
			_ = s.Reset()
			return
		}
		_ = s.CloseWrite()
		return
	}
	defer release()
	var req joinRequest
	if err := readFrame(bufio.NewReader(io.LimitReader(s, maxJoinRequest+8)), maxJoinRequest, &req); err != nil ||
		req.Version != 1 || len(req.Mesh) != 32 || len(req.Token) != 32 {
		n.log.Debug("join: bad request", "peer", remote, "err", err)
		_ = s.Reset()
		return
	}
	ans := n.answerJoin(remote, req)
	if err := writeFrame(s, &ans); err != nil {
		n.log.Debug("join: answer", "peer", remote, "err", err)
		_ = s.Reset()
		return
	}
	_ = s.CloseWrite()
	if ans.Code == "" {
		n.updateJoinWindow()
	}
}

// answerJoin decides a join request from remote: admit it (the roster entry
// persisted and spreading) and answer the whole log, or a refusal code.
// A retry by the peer that already consumed the token is answered again.
func (n *Node) answerJoin(remote peer.ID, req joinRequest) joinAnswer {
	refuse := func(code string) joinAnswer {
		n.log.Info("join refused", "peer", remote, "code", code)
		return joinAnswer{Version: 1, Code: code}
	}
	if roster.MeshID(req.Mesh) != n.roster.MeshID() {
		return refuse("wrong-mesh")
	}
	h := roster.HashToken(req.Token)
	self := roster.PeerID(remote.String())
	if p, used := n.roster.TokenUsedBy(h); used {
		if p != self {
			return refuse("token-used")
		}
		return joinAnswer{Version: 1, Roster: n.roster.Marshal()}
	}
	inv, ok := n.roster.RecordedInvite(h)
	if !ok {
		return refuse("unknown-token")
	}
	if n.roster.Withdrawn(h) {
		return refuse("withdrawn")
	}
	if !n.now().Before(inv.Expiry) {
		return refuse("expired")
	}
	op, err := n.operatorFor(h)
	if err != nil {
		n.log.Warn("join: cannot sign the admit", "err", err)
		return refuse("not-operator")
	}
	_, err = n.change(func(l *roster.Log) (*roster.Entry, error) {
		return l.Admit(op, roster.Admission{Peer: self, Zone: inv.Zone, Role: inv.Role, Token: h,
			Expiry: n.memberExpiry(h)}, n.now()) // invite --expires (expiry.go)
	})
	switch {
	case errors.Is(err, roster.ErrTokenUsed):
		return refuse("token-used")
	case errors.Is(err, roster.ErrTokenWithdrawn):
		return refuse("withdrawn")
	case errors.Is(err, roster.ErrRevoked):
		return refuse("revoked")
	case errors.Is(err, roster.ErrNotOperator):
		return refuse("not-operator")
	case err != nil:
		n.log.Error("join: admit failed", "peer", remote, "err", err)
		return refuse("internal")
	}
	n.log.Info("joined", "peer", remote, "zone", inv.Zone, "role", inv.Role)
	return joinAnswer{Version: 1, Roster: n.roster.Marshal()}
}

// joinExchange is the joining side of one exchange over rw: it sends the
// invite's mesh and token and returns the roster log the inviter answered
// (decoded and verified, of the invite's mesh), or the refusal as one of
// the ErrJoin… errors.
func joinExchange(rw io.ReadWriter, inv Invite) (*roster.Log, error) {
	if err := writeFrame(rw, &joinRequest{Version: 1, Mesh: inv.Mesh[:], Token: inv.Token[:]}); err != nil {
		return nil, fmt.Errorf("join: send: %w", err)
	}
	var ans joinAnswer
	if err := readFrame(bufio.NewReader(rw), maxJoinAnswer, &ans); err != nil {
		return nil, fmt.Errorf("join: answer: %w", err)
	}
	if ans.Version != 1 {
		return nil, fmt.Errorf("join: answer of version %d", ans.Version)
	}
	if ans.Code != "" {
		if err, ok := joinCodes[ans.Code]; ok {
			return nil, err
		}
		return nil, fmt.Errorf("join refused: %.64q", ans.Code)
	}
	l, err := roster.Decode(ans.Roster)
	if err != nil {
		return nil, fmt.Errorf("join: the inviter's roster: %w", err)
	}
	if l.MeshID() != inv.Mesh {
		return nil, fmt.Errorf("join: the inviter sent the roster of mesh %s, not %s", l.MeshID(), inv.Mesh)
	}
	return l, nil
}
