package node

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/dht"
	"respaldo/node/roster"
	"respaldo/node/store"
)

// RosterProtocol is the roster sync protocol: one request per stream. The
// asker sends its head (seq, hash); the answerer replies with the entries
// after that seq (at most MaxSyncEntries, and its own head, so the asker
// knows to ask again), or says the asker is ahead (and then pulls from the
// asker itself), or reports a fork. See docs/daemon.md.
const RosterProtocol = "/respaldo/roster/1.0.0"

const (
	// MaxSyncEntries bounds the entries of one answer.
	MaxSyncEntries = 256
	// rosterKey is the store record holding the whole log (Log.Marshal).
	rosterKey = "roster/log"
	// syncTimeout bounds one roster exchange; syncRounds the exchanges
	// of one pull.
	syncTimeout = 10 * time.Second
	syncRounds  = 64
	// maxRequest and maxAnswer cap the frames (an entry is ≤ 4096 bytes).
	maxRequest = 128
	maxAnswer  = MaxSyncEntries*(4096+8) + 256
)

// Answer statuses.
const (
	syncOK    = 0 // entries after the asker's seq follow (maybe none)
	syncAhead = 1 // the asker is ahead; the answerer will pull from it
	syncFork  = 2 // the answerer holds another entry at the asker's seq
)

// ErrNoRoster: the data dir holds no roster (neither mesh create nor a join
// ran there).
var ErrNoRoster = errors.New("node: no roster in this data dir: create a mesh or join one first")

type syncRequest struct {
	Version uint64 `cbor:"0,keyasint"`
	Seq     uint64 `cbor:"1,keyasint,omitempty"`
	Hash    []byte `cbor:"2,keyasint"`
}

type syncAnswer struct {
	Version uint64   `cbor:"0,keyasint"`
	Status  uint64   `cbor:"1,keyasint,omitempty"`
	Seq     uint64   `cbor:"2,keyasint,omitempty"` // the answerer's head seq
	Hash    []byte   `cbor:"3,keyasint"`           // its head hash (fork: its hash at the asker's seq)
	Entries [][]byte `cbor:"4,keyasint,omitempty"`
}

var (
	syncEnc = func() cbor.EncMode {
		em, err := cbor.CoreDetEncOptions().EncMode()
		if err != nil {
			panic(err)
		}
		return em
	}()
	syncDec = func() cbor.DecMode {
		dm, err := cbor.DecOptions{
			DupMapKey:         cbor.DupMapKeyEnforcedAPF,
			IndefLength:       cbor.IndefLengthForbidden,
			TagsMd:            cbor.TagsForbidden,
			ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
			MaxNestedLevels:   4,
			MaxArrayElements:  MaxSyncEntries,
			MaxMapPairs:       16,
		}.DecMode()
		if err != nil {
			panic(err)
		}
		return dm
	}()
)

// writeFrame writes uvarint(len) ‖ CBOR of v.
func writeFrame(w io.Writer, v any) error {
	b, err := syncEnc.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(binary.AppendUvarint(nil, uint64(len(b))), b...))
	return err
}

// readFrame reads one frame of at most max bytes into v.
func readFrame(r *bufio.Reader, max int, v any) error {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return err
	}
	if n == 0 || n > uint64(max) {
		return fmt.Errorf("roster sync: frame of %d bytes (limit %d)", n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	return syncDec.Unmarshal(b, v)
}

// loadRoster reads the persisted log.
func loadRoster(ctx context.Context, rec store.Records) (*roster.Log, error) {
	b, err := rec.Get(ctx, []byte(rosterKey))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoRoster
	}
	if err != nil {
		return nil, err
	}
	return roster.Decode(b)
}

// WriteRoster persists l as the roster of the data dir (its store must not
// be open). CreateMesh uses it; so will the join protocol, and tests use it
// to hand a node its roster before it first opens.
func WriteRoster(ctx context.Context, dir string, l *roster.Log) error {
	st, err := store.Open(filepath.Join(dir, StoreDir), store.DefaultOptions())
	if err != nil {
		return err
	}
	err = st.Records().Put(ctx, []byte(rosterKey), l.Marshal())
	return errors.Join(err, st.Close())
}

// serveRoster answers one sync request from a member.
func (n *Node) serveRoster(s network.Stream) {
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(syncTimeout))
	remote := s.Conn().RemotePeer()
	var req syncRequest
	if err := readFrame(bufio.NewReader(s), maxRequest, &req); err != nil || req.Version != 1 || len(req.Hash) != 32 {
		n.log.Debug("roster sync: bad request", "peer", shortID(remote), "err", err)
		_ = s.Reset()
		return
	}
	seq, head := n.roster.Head()
	ans := syncAnswer{Version: 1, Seq: seq, Hash: head[:]}
	switch h, ok := n.roster.HashAt(req.Seq); {
	case !ok:
		ans.Status = syncAhead
		n.requestSync(remote)
	case h != roster.Hash(req.Hash):
		ans.Status, ans.Seq, ans.Hash = syncFork, req.Seq, h[:]
		n.fork.Store(&roster.ForkError{Seq: req.Seq, Ours: h, Theirs: roster.Hash(req.Hash)})
		n.log.Error("roster fork with a peer", "peer", remote, "seq", req.Seq, "ours", h, "theirs", roster.Hash(req.Hash))
	default:
		for _, e := range n.roster.Since(req.Seq) {
			if len(ans.Entries) == MaxSyncEntries {
				break
			}
			ans.Entries = append(ans.Entries, e.Marshal())
		}
	}
	if err := writeFrame(s, &ans); err != nil {
		n.log.Debug("roster sync: answer", "peer", shortID(remote), "err", err)
		_ = s.Reset()
		return
	}
	_ = s.CloseWrite()
}

// requestSync pulls p's newer entries in the background. One pull per peer
// runs at a time; a request during a pull makes it run once more.
func (n *Node) requestSync(p peer.ID) {
	if p == n.self || !n.allowed(p) {
		return
	}
	n.smu.Lock()
	defer n.smu.Unlock()
	if again, ok := n.syncing[p]; ok {
		if !again {
			n.syncing[p] = true
		}
		return
	}
	if n.closing {
		return
	}
	n.syncing[p] = false
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		for {
			if err := n.pull(p); err != nil && n.life.Err() == nil {
				n.log.Debug("roster sync", "peer", shortID(p), "err", err)
			}
			n.smu.Lock()
			if n.syncing[p] && !n.closing {
				n.syncing[p] = false
				n.smu.Unlock()
				continue
			}
			delete(n.syncing, p)
			n.smu.Unlock()
			return
		}
	}()
}

// pull asks p for the entries after our head until we hold its head.
func (n *Node) pull(p peer.ID) error {
	for range syncRounds {
		ans, err := n.ask(p)
		if err != nil {
			return err
		}
		switch ans.Status {
		case syncAhead:
			return nil // p pulls from us
		case syncFork:
			ours, _ := n.roster.HashAt(ans.Seq)
			err := &roster.ForkError{Seq: ans.Seq, Ours: ours, Theirs: roster.Hash(ans.Hash)}
			n.fork.Store(err)
			n.log.Error("roster fork with a peer", "peer", p, "err", err)
			return err
		case syncOK:
		default:
			return fmt.Errorf("roster sync: unknown status %d", ans.Status)
		}
		if len(ans.Entries) == 0 {
			return nil
		}
		es := make([]*roster.Entry, len(ans.Entries))
		for i, b := range ans.Entries {
			if es[i], err = roster.DecodeEntry(b); err != nil {
				return err
			}
		}
		if err := n.merge(es); err != nil {
			return err
		}
		if seq, _ := n.roster.Head(); seq >= ans.Seq {
			return nil
		}
	}
	return fmt.Errorf("roster sync: still behind after %d rounds", syncRounds)
}

// ask makes one exchange with p.
func (n *Node) ask(p peer.ID) (*syncAnswer, error) {
	ctx, cancel := context.WithTimeout(n.life, syncTimeout)
	defer cancel()
	s, err := n.host.NewStream(ctx, p, RosterProtocol)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(syncTimeout))
	seq, head := n.roster.Head()
	if err := writeFrame(s, &syncRequest{Version: 1, Seq: seq, Hash: head[:]}); err != nil {
		_ = s.Reset()
		return nil, err
	}
	_ = s.CloseWrite()
	var ans syncAnswer
	if err := readFrame(bufio.NewReader(s), maxAnswer, &ans); err != nil {
		_ = s.Reset()
		return nil, err
	}
	if ans.Version != 1 || len(ans.Hash) != 32 {
		return nil, errors.New("roster sync: malformed answer")
	}
	return &ans, nil
}

// Fork returns the last roster fork this node met (a peer holding another
// entry at a seq it holds), or nil. Forks are resolved by operators, never
// by the log (roster.md).
func (n *Node) Fork() *roster.ForkError { return n.fork.Load() }

// merge applies a peer's entries, persists the log and acts on the change.
func (n *Node) merge(es []*roster.Entry) error {
	n.rmu.Lock()
	before, _ := n.roster.Head()
	if err := n.roster.Merge(es); err != nil {
		n.rmu.Unlock()
		return err
	}
	after, _ := n.roster.Head()
	if after == before {
		n.rmu.Unlock()
		return nil
	}
	// The entries are held by the peer too: were this write lost, the next
	// sync would fetch them again.
	err := n.store.Records().Put(n.life, []byte(rosterKey), n.roster.Marshal())
	n.rmu.Unlock()
	n.log.Info("roster updated", "seq", after)
	n.rosterChanged()
	return err
}

// change appends an entry this node signs: built on a copy, persisted,
// then applied, so a failed write loses nothing that was announced.
func (n *Node) change(build func(*roster.Log) (*roster.Entry, error)) (*roster.Entry, error) {
	n.rmu.Lock()
	next, err := roster.Decode(n.roster.Marshal())
	if err == nil {
		var e *roster.Entry
		if e, err = build(next); err == nil {
			if err = n.store.Records().Put(n.life, []byte(rosterKey), next.Marshal()); err == nil {
				err = n.roster.Merge([]*roster.Entry{e})
			}
		}
		n.rmu.Unlock()
		if err != nil {
			return nil, err
		}
		n.rosterChanged()
		return e, nil
	}
	n.rmu.Unlock()
	return nil, err
}

// rosterChanged brings the peer table in step, expels the connected peers
// the roster no longer allows, and asks the others to pull (each answers
// "ahead" and pulls from us), so entries spread from node to node.
func (n *Node) rosterChanged() {
	n.table.SetMembers(n.meshMembers())
	for _, p := range n.host.Network().Peers() {
		if !n.allowed(p) {
			n.log.Info("expelling a peer the roster no longer admits", "peer", p)
			_ = dht.Expel(n.host, p)
			continue
		}
		n.requestSync(p)
	}
	n.updateJoinWindow() // an invite used or withdrawn elsewhere (invite_node.go)
	n.repair.wake()      // a revoked holder's shards are rebuilt at once, without a grace (revoke.go)
}

// AdmitPeer appends an admit entry signed by op (this node must hold an
// operator key of the mesh) for p with zone and role, persists it and
// spreads it to the connected members. Admitting a live member renews it.
func (n *Node) AdmitPeer(op roster.OperatorKey, p peer.ID, zone roster.Zone, role roster.Role) (*roster.Entry, error) {
	return n.change(func(l *roster.Log) (*roster.Entry, error) {
		return l.Admit(op, roster.Admission{Peer: roster.PeerID(p.String()), Zone: zone, Role: role}, n.now())
	})
}

// RevokePeer appends a revoke entry signed by op, persists it, expels p
// and spreads the entry. Revocation is final for p's peer ID.
func (n *Node) RevokePeer(op roster.OperatorKey, p peer.ID, reason string) (*roster.Entry, error) {
	return n.change(func(l *roster.Log) (*roster.Entry, error) {
		return l.Revoke(op, roster.PeerID(p.String()), reason, n.now())
	})
}
