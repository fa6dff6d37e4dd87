package node

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
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
		c2s, s2c := newHalfPipe(), newHalfPipe()
		client := &loopStream{r: s2c, w: c2s}
		server := &loopStream{r: c2s, w: s2c}
		n.goBackground(func(ctx context.Context) {
			defer server.Close()
			if err := n.shards.Serve(ctx, n.self.String(), server); err != nil {
				n.log.Debug("local shard stream", "err", err)
			}
		})
		return client, nil
	}
}

// halfPipe carries bytes one way, with a bounded buffer, half-close and
// deadlines (the shard client and handler bound their waits with
// deadlines, and a stream that ignored them could hang a request for good).
type halfPipe struct {
	mu       sync.Mutex
	cond     *sync.Cond
	buf      []byte
	eof      bool  // the writer closed
	err      error // reset or closed by the reader
	rdl, wdl time.Time
	// rt, wt wake the waiters when rdl, wdl pass: one timer each, made on
	// the first deadline and reset by the next (a stream sets a deadline
	// per message).
	rt, wt *time.Timer
}

const halfPipeBuffer = 256 << 10

func newHalfPipe() *halfPipe {
	h := &halfPipe{}
	h.cond = sync.NewCond(&h.mu)
	return h
}

func (h *halfPipe) expired(dl time.Time) bool { return !dl.IsZero() && !time.Now().Before(dl) }

func (h *halfPipe) read(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(h.buf) == 0 {
		switch {
		case h.err != nil:
			return 0, h.err
		case h.eof:
			return 0, io.EOF
		case h.expired(h.rdl):
			return 0, os.ErrDeadlineExceeded
		}
		h.cond.Wait()
	}
	n := copy(p, h.buf)
	h.buf = h.buf[n:]
	if len(h.buf) == 0 {
		h.buf = nil
	}
	h.cond.Broadcast()
	return n, nil
}

func (h *halfPipe) write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for len(p) > 0 {
		switch {
		case h.err != nil:
			return n, h.err
		case h.eof:
			return n, io.ErrClosedPipe
		case h.expired(h.wdl):
			return n, os.ErrDeadlineExceeded
		}
		if room := halfPipeBuffer - len(h.buf); room > 0 {
			k := min(room, len(p))
			h.buf = append(h.buf, p[:k]...)
			p, n = p[k:], n+k
			h.cond.Broadcast()
			continue
		}
		h.cond.Wait()
	}
	return n, nil
}

// setDeadline sets the read or write deadline and wakes the waiters when
// it passes (and now, so that they see a deadline moved or lifted).
func (h *halfPipe) setDeadline(t time.Time, read bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	dl, tm := &h.wdl, &h.wt
	if read {
		dl, tm = &h.rdl, &h.rt
	}
	*dl = t
	h.cond.Broadcast()
	switch {
	case t.IsZero() || h.err != nil:
		if *tm != nil {
			(*tm).Stop()
		}
	case *tm == nil:
		*tm = time.AfterFunc(time.Until(t), func() { h.deadlinePassed(read) })
	default:
		(*tm).Reset(time.Until(t))
	}
}

// deadlinePassed is a deadline timer's: it wakes the waiters once the
// deadline has passed, and waits on if it was moved later meanwhile.
func (h *halfPipe) deadlinePassed(read bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	dl, tm := h.wdl, h.wt
	if read {
		dl, tm = h.rdl, h.rt
	}
	if !dl.IsZero() && !h.expired(dl) {
		tm.Reset(time.Until(dl) + time.Millisecond)
		return
	}
	h.cond.Broadcast()
}

// stopTimers: nothing waits on a deadline of a failed pipe.
func (h *halfPipe) stopTimers() {
	for _, tm := range []*time.Timer{h.rt, h.wt} {
		if tm != nil {
			tm.Stop()
		}
	}
}

func (h *halfPipe) closeWrite() {
	h.mu.Lock()
	h.eof = true
	if h.wt != nil {
		h.wt.Stop() // no more writes to time out
	}
	h.cond.Broadcast()
	h.mu.Unlock()
}

func (h *halfPipe) fail(err error) {
	h.mu.Lock()
	if h.err == nil {
		h.err = err
	}
	h.buf = nil
	h.stopTimers()
	h.cond.Broadcast()
	h.mu.Unlock()
}

// loopStream is one end of an in-memory stream: it reads from r and
// writes to w.
type loopStream struct {
	r, w *halfPipe
}

var errLoopReset = errors.New("stream reset")

func (s *loopStream) Read(p []byte) (int, error)         { return s.r.read(p) }
func (s *loopStream) Write(p []byte) (int, error)        { return s.w.write(p) }
func (s *loopStream) SetReadDeadline(t time.Time) error  { s.r.setDeadline(t, true); return nil }
func (s *loopStream) SetWriteDeadline(t time.Time) error { s.w.setDeadline(t, false); return nil }
func (s *loopStream) CloseWrite() error                  { s.w.closeWrite(); return nil }

// Close ends both directions: what the other end writes from now on fails.
func (s *loopStream) Close() error {
	s.w.closeWrite()
	s.r.fail(io.ErrClosedPipe)
	return nil
}

func (s *loopStream) Reset() error {
	s.w.fail(errLoopReset)
	s.r.fail(errLoopReset)
	return nil
}
