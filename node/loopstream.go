package node

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/node/meshblobs"
)

// openShard opens a shard-protocol stream to p; to this node itself (a
// restore on a storage node that holds some of the shards it reads) it is
// an in-memory pair of pipes served by the node's own shard handler, with
// the same checks as for anyone: a get still needs the read proof.
func (n *Node) openShard(host meshblobs.OpenFunc) meshblobs.OpenFunc {
	return func(ctx context.Context, p peer.ID) (meshblobs.Stream, error) {
		if p != n.self {
			return host(ctx, p)
		}
		c2s, s2c := newHalf(), newHalf()
		client := &loopStream{r: s2c.r, w: c2s.w}
		server := &loopStream{r: c2s.r, w: s2c.w}
		n.goBackground(func(ctx context.Context) {
			defer server.Close()
			if err := n.shards.Serve(ctx, n.self.String(), server); err != nil {
				n.log.Debug("local shard stream", "err", err)
			}
		})
		return client, nil
	}
}

type half struct {
	r *io.PipeReader
	w *io.PipeWriter
}

func newHalf() half {
	r, w := io.Pipe()
	return half{r, w}
}

// loopStream is one end of an in-memory stream with half-close. Deadlines
// are not kept: both ends are this process, bounded by the ctx of the call.
type loopStream struct {
	r *io.PipeReader
	w *io.PipeWriter
}

var errLoopReset = errors.New("stream reset")

func (s *loopStream) Read(p []byte) (int, error)       { return s.r.Read(p) }
func (s *loopStream) Write(p []byte) (int, error)      { return s.w.Write(p) }
func (s *loopStream) SetReadDeadline(time.Time) error  { return nil }
func (s *loopStream) SetWriteDeadline(time.Time) error { return nil }
func (s *loopStream) CloseWrite() error                { return s.w.Close() }
func (s *loopStream) Close() error {
	_ = s.w.Close()
	return s.r.Close()
}
func (s *loopStream) Reset() error {
	_ = s.w.CloseWithError(errLoopReset)
	return s.r.CloseWithError(errLoopReset)
}
