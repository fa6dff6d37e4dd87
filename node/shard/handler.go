package shard

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"respaldo/erasure"
	"respaldo/node/store"
)

// Authorizer approves requests that carry no proof of a stripe secret. The
// daemon approves a co-holder of the stripe while it repairs it (AllowGet)
// and a holder of a shard of the same stripe (AllowAudit). Methods are
// called concurrently and must not block for long. A nil Authorizer
// approves nothing.
type Authorizer interface {
	AllowGet(remote string, stripe erasure.StripeID, index int) bool
	AllowAudit(remote string, stripe erasure.StripeID, index int) bool
}

// Handler serves the shard protocol of one node. Set the exported fields,
// then call Serve for each incoming stream, concurrently; do not change the
// fields or copy the Handler afterwards.
type Handler struct {
	Store store.Store      // shards, descriptors and deletion records; required
	Self  string           // this node's peer ID (peer.ID.String()); required
	Auth  Authorizer       // may be nil
	Now   func() time.Time // the clock for proof times; nil: time.Now
	// Limits bound each stream; zero fields take DefaultLimits.
	Limits Limits
	Log    *slog.Logger // nil: discard

	mu     sync.Mutex
	active map[string]int     // streams in progress per remote peer
	seen   map[[32]byte]int64 // proofs seen → expiry (unix seconds)
	locks  [64]sync.Mutex     // order put against delete, by stripe
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}

// errPanic marks an error made from a recovered panic.
var errPanic = errors.New("panic")

// Serve answers the one request on s from remote, the peer ID (its
// String()) of the stream's other end, which the daemon has already checked
// against the roster. It returns nil when the request was served; otherwise
// an error wrapping the sentinel it answered with (ErrBadRequest for
// garbage, ErrDenied, ErrNoSpace, ...), or wrapping ErrStalled, a stream
// error or ctx's error when no answer could be sent. The daemon logs it
// (ErrBadRequest: the peer sent garbage) and then Closes s in every case:
// Serve has already answered and called CloseWrite, and a Reset could drop
// the answer in flight (yamux discards unread data on reset). Serve never
// closes s itself and never panics. Safe for concurrent use.
func (h *Handler) Serve(ctx context.Context, remote string, s Stream) (err error) {
	start := time.Now()
	lim := h.Limits.orDefaults()
	m := newMeter(ctx, s, lim)
	defer m.close()
	var req *request
	defer func() {
		if r := recover(); r != nil {
			h.log().Error("shard: handler panic", "remote", remote, "panic", r, "stack", string(debug.Stack()))
			err = refuseCause(ErrInternal, "", fmt.Errorf("%w: %v", errPanic, r))
		}
		h.logDone(remote, req, err, start)
	}()
	if h.Store == nil || h.Self == "" || remote == "" {
		return h.answerErr(m, refuseCause(ErrInternal, "", errors.New("handler without a store or a peer ID")))
	}
	release, ok := h.enter(remote, lim.PerPeer)
	if !ok {
		return h.answerErr(m, refuse(ErrBusy, fmt.Sprintf("this peer already has %d streams in progress here", lim.PerPeer)))
	}
	defer release()
	br := bufio.NewReader(m)
	hdr, err := readHeader(br, lim.MaxHeader)
	if err == nil {
		req, err = decodeRequest(hdr)
	}
	if errors.Is(err, errNoMessage) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = refuseCause(ErrBadRequest, "the stream ended before the request header did", err)
	}
	if err != nil {
		return h.answerErr(m, err)
	}
	return h.answerErr(m, h.dispatch(ctx, remote, req, br, m, lim))
}

// dispatch runs one operation. It returns nil after a successful answer, a
// *refusal to be answered, or another error (the stream failed).
func (h *Handler) dispatch(ctx context.Context, remote string, req *request, br *bufio.Reader, m *meter, lim Limits) error {
	stripe := erasure.StripeID(req.Stripe)
	switch req.Op {
	case opPut:
		return h.put(ctx, req, stripe, br, m, lim)
	case opGet:
		return h.get(ctx, remote, req, stripe, m, lim)
	case opHas:
		return h.has(ctx, req, stripe, m)
	case opDelete:
		return h.delete(ctx, remote, req, stripe, m, lim)
	case opAudit:
		return h.audit(ctx, remote, req, stripe, m)
	case opLocate:
		return h.locate(ctx, stripe, m)
	}
	return refuse(ErrBadRequest, "unknown operation") // validate refuses it first
}

// answerErr sends err to the peer when it is a refusal and returns it.
// The peer sees the code and the refusal's message, never its cause.
func (h *Handler) answerErr(m *meter, err error) error {
	var r *refusal
	if !errors.As(err, &r) {
		return err
	}
	resp := &response{Version: wireVersion, Status: errorToCode(r.code), Message: r.msg}
	if werr := h.answer(m, resp, nil); werr != nil {
		return fmt.Errorf("%w (answering it: %v)", err, werr)
	}
	return err
}

// answer writes a response and closes the write side, in a fresh window.
func (h *Handler) answer(m *meter, resp *response, body []byte) error {
	m.Fresh()
	if err := writeMsg(m, marshal(resp), body); err != nil {
		return err
	}
	m.s.CloseWrite()
	return nil
}

// ok writes a successful response.
func (h *Handler) ok(m *meter, resp response, body []byte) error {
	resp.Version, resp.Status = wireVersion, codeOK
	return h.answer(m, &resp, body)
}

// enter takes one of remote's stream slots, or reports that all are taken.
func (h *Handler) enter(remote string, max int) (release func(), ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.active == nil {
		h.active = make(map[string]int)
	}
	if h.active[remote] >= max {
		return nil, false
	}
	h.active[remote]++
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.active[remote]--; h.active[remote] <= 0 {
			delete(h.active, remote)
		}
	}, true
}

func (h *Handler) lockStripe(id erasure.StripeID) func() {
	mu := &h.locks[id[0]%uint8(len(h.locks))]
	mu.Lock()
	return mu.Unlock
}

func (h *Handler) logDone(remote string, req *request, err error, start time.Time) {
	attrs := []any{"remote", remote, "took", time.Since(start)}
	if req != nil {
		attrs = append(attrs, "op", req.Op, "stripe", fmt.Sprintf("%x", req.Stripe), "index", req.Index)
	}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	h.log().Debug("shard request", attrs...)
}
