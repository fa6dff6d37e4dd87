package node

import (
	"context"
	"crypto/rand"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	msmux "github.com/multiformats/go-multistream"
)

// Stale connections after a restart.
//
// A member killed without a goodbye (a power cut, kill -9, a laptop seized
// and later put back) leaves a connection open at each of its peers: TCP's
// kernel resets it at once, but a QUIC connection to a dead process stays
// open until it idles out (about 30 s). The restarted node dials again, so
// each peer holds two connections to it, the dead one first. Everything
// that picks "the" connection (gossipsub's outbound stream, the DHT, shard
// streams) may pick the dead one. Worse, gossipsub (go-libp2p-pubsub
// v0.19) keeps writing into its stream on the dead connection; when that
// fails while another connection is up it reopens the stream after a back-
// off, at most 4 times per peer in 10 minutes, and after that never: the
// restarted node then hears no heartbeat from anyone and refuses backups
// (seen for 15+ minutes; docs/crash.md).
//
// The fix: when a member gets a second connection, the node pings each
// older connection to it, on that connection. If one does not answer within
// staleProbeTimeout it closes every connection to that peer (so gossipsub
// forgets the peer cleanly instead of counting a back-off), waits
// staleRedialPause, and dials it again: every protocol starts afresh on one
// live connection, as after a TCP reset.
const (
	staleProbeTimeout = 3 * time.Second
	staleRedialPause  = time.Second
)

// connWatch probes the older connections of a peer that got a new one.
type connWatch struct {
	n    *Node
	mu   sync.Mutex
	busy map[peer.ID]bool
}

// watchConns starts watching new connections of members.
func (n *Node) watchConns() {
	w := &connWatch{n: n, busy: map[peer.ID]bool{}}
	n.host.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) { w.connected(c) },
	})
}

// connected runs in the swarm's notification path: it must not block.
func (w *connWatch) connected(c network.Conn) {
	p := c.RemotePeer()
	if len(w.n.host.Network().ConnsToPeer(p)) < 2 || !w.n.allowed(p) {
		return
	}
	w.mu.Lock()
	if w.busy[p] {
		w.mu.Unlock()
		return
	}
	w.busy[p] = true
	w.mu.Unlock()
	w.n.smu.Lock()
	if w.n.closing {
		w.n.smu.Unlock()
		w.done(p)
		return
	}
	w.n.bg.Add(1)
	w.n.smu.Unlock()
	go func() {
		defer w.n.bg.Done()
		defer w.done(p)
		w.check(w.n.life, p, c)
	}()
}

func (w *connWatch) done(p peer.ID) {
	w.mu.Lock()
	delete(w.busy, p)
	w.mu.Unlock()
}

// check pings every connection to p but the newest one; if any is dead it
// closes them all and dials p again.
func (w *connWatch) check(ctx context.Context, p peer.ID, newest network.Conn) {
	conns := w.n.host.Network().ConnsToPeer(p)
	var wg sync.WaitGroup
	var mu sync.Mutex
	dead := 0
	for _, c := range conns {
		if c == newest || c.IsClosed() {
			continue
		}
		wg.Go(func() {
			if err := pingConn(ctx, c); err != nil && ctx.Err() == nil {
				w.n.log.Debug("stale connection", "peer", shortID(p), "addr", c.RemoteMultiaddr(), "err", err)
				mu.Lock()
				dead++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if dead == 0 || ctx.Err() != nil {
		return
	}
	w.n.log.Info("closing stale connections to a restarted peer", "peer", shortID(p), "dead", dead)
	addrs := w.n.host.Peerstore().Addrs(p)
	_ = w.n.host.Network().ClosePeer(p)
	select {
	case <-ctx.Done():
		return
	case <-time.After(staleRedialPause):
	}
	if w.n.host.Network().Connectedness(p) == network.Connected {
		return // it dialled us meanwhile
	}
	dctx, cancel := context.WithTimeout(ctx, reconnectTimeout)
	defer cancel()
	if err := w.n.host.Connect(dctx, peer.AddrInfo{ID: p, Addrs: addrs}); err != nil {
		w.n.log.Debug("redial after stale connection", "peer", shortID(p), "err", err)
	}
}

// pingConn runs one libp2p ping on this very connection (host.NewStream
// would pick a connection itself).
func pingConn(ctx context.Context, c network.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, staleProbeTimeout)
	defer cancel()
	s, err := c.NewStream(ctx)
	if err != nil {
		return err
	}
	defer s.Reset()
	_ = s.SetDeadline(time.Now().Add(staleProbeTimeout))
	if err := msmux.SelectProtoOrFail(ping.ID, s); err != nil {
		return err
	}
	var out, in [ping.PingSize]byte
	_, _ = rand.Read(out[:])
	if _, err := s.Write(out[:]); err != nil {
		return err
	}
	if _, err := io.ReadFull(s, in[:]); err != nil {
		return err
	}
	if in != out {
		return io.ErrUnexpectedEOF
	}
	return nil
}
