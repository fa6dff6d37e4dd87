package shard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Stream is one bidirectional stream to a peer. libp2p's network.Stream
// satisfies it; tests use net.Pipe with a no-op CloseWrite. The protocol
// code never dials: the daemon opens or accepts the stream, hands it in,
// and closes (or resets) it afterwards.
type Stream interface {
	io.Reader
	io.Writer
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
	// CloseWrite signals that no more bytes will be written.
	CloseWrite() error
}

// maxWriteChunk bounds one Write on the stream, so that progress is
// counted while a large body goes out; a chunk is also at most a quarter of
// the quota, so that one chunk at the minimum rate fits in a window.
const maxWriteChunk = 16 << 10

// meter wraps a Stream and cuts it off when it stalls: the bytes moved in
// both directions together must reach quota within each window, or the
// stream's deadlines pass and I/O fails with ErrStalled. Fresh starts a new
// window (at a change of phase, e.g. before a response is written after a
// slow store write). When ctx is done, the deadlines are set in the past for
// good and I/O fails with ctx's error. Read and Write may be called from
// two goroutines at once.
type meter struct {
	s      Stream
	ctx    context.Context
	window time.Duration
	quota  int64
	chunk  int
	stop   func() bool

	mu       sync.Mutex
	n        int64 // bytes moved in the current window
	stopped  bool  // ctx done: deadlines stay in the past
	wAborted bool  // abortWrite: the write deadline stays in the past
}

var past = time.Unix(1, 0)

func newMeter(ctx context.Context, s Stream, lim Limits) *meter {
	quota := max(1, int64(float64(lim.MinRate)*lim.StallTimeout.Seconds()))
	m := &meter{s: s, ctx: ctx, window: lim.StallTimeout, quota: quota, chunk: int(min(max(quota/4, 512), maxWriteChunk))}
	m.Fresh()
	m.stop = context.AfterFunc(ctx, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.stopped = true
		s.SetReadDeadline(past)
		s.SetWriteDeadline(past)
	})
	return m
}

// close releases the context watch. It does not close the stream.
func (m *meter) close() { m.stop() }

// Fresh starts a new window now.
func (m *meter) Fresh() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.arm()
}

// arm starts a new window; m.mu is held. Deadline errors are ignored: a
// closed stream fails its next Read or Write anyway.
func (m *meter) arm() {
	m.n = 0
	if m.stopped {
		return
	}
	dl := time.Now().Add(m.window)
	m.s.SetReadDeadline(dl)
	if !m.wAborted {
		m.s.SetWriteDeadline(dl)
	}
}

// abortWrite makes a Write in progress, and every later one, fail.
func (m *meter) abortWrite() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.wAborted = true
	m.s.SetWriteDeadline(past)
}

func (m *meter) count(n int) {
	if n <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n += int64(n); m.n >= m.quota {
		m.arm()
	}
}

// Read implements io.Reader.
func (m *meter) Read(p []byte) (int, error) {
	n, err := m.s.Read(p)
	m.count(n)
	return n, m.wrap(err, false)
}

// Write implements io.Writer, in chunks of at most m.chunk bytes.
func (m *meter) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := m.s.Write(p[done:min(len(p), done+m.chunk)])
		done += n
		m.count(n)
		if err != nil {
			return done, m.wrap(err, true)
		}
	}
	return done, nil
}

// errAborted is what a Write fails with after abortWrite.
var errAborted = errors.New("shard: write abandoned: the peer answered early")

func (m *meter) wrap(err error, write bool) error {
	if err == nil || !isTimeout(err) {
		return err
	}
	m.mu.Lock()
	stopped, aborted := m.stopped, m.wAborted
	m.mu.Unlock()
	switch {
	case stopped && m.ctx.Err() != nil:
		return m.ctx.Err()
	case write && aborted:
		return errAborted
	}
	return fmt.Errorf("%w: fewer than %d bytes in %v", ErrStalled, m.quota, m.window)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &t) && t.Timeout())
}
