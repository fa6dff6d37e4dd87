package shard

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"respaldo/crypto"
	"respaldo/erasure"
)

// Client makes shard requests, each over a fresh stream to the holder that
// the caller opened (and closes or resets afterwards). The zero Client uses
// DefaultLimits; a Client is stateless and safe for concurrent use. The
// package-level functions use the zero Client.
//
// Every error wraps one of the package's sentinels or is ctx's error. A
// refusal from the holder carries its code and its detail line.
type Client struct {
	Limits Limits // zero fields take DefaultLimits
}

var zeroClient Client

// Locate asks the holder for a stripe's descriptor and the shards it holds
// of it; see Client.Locate.
func Locate(ctx context.Context, s Stream, stripe erasure.StripeID) (*erasure.Descriptor, []int, error) {
	return zeroClient.Locate(ctx, s, stripe)
}

// Put stores shard index of the stripe d at the holder; see Client.Put.
func Put(ctx context.Context, s Stream, d *erasure.Descriptor, index int, data []byte) error {
	return zeroClient.Put(ctx, s, d, index, data)
}

// Get fetches a shard as the stripe's owner; see Client.Get.
func Get(ctx context.Context, s Stream, self, holder string, d *erasure.Descriptor, index int, secret crypto.ReadSecret, now time.Time) ([]byte, error) {
	return zeroClient.Get(ctx, s, self, holder, d, index, secret, now)
}

// GetInto is Client.GetInto with the default limits.
func GetInto(ctx context.Context, s Stream, self, holder string, d *erasure.Descriptor, index int, secret crypto.ReadSecret, now time.Time, dst []byte) ([]byte, error) {
	return zeroClient.GetInto(ctx, s, self, holder, d, index, secret, now, dst)
}

// GetAuthorized fetches a shard without a proof; see Client.GetAuthorized.
func GetAuthorized(ctx context.Context, s Stream, d *erasure.Descriptor, index int) ([]byte, error) {
	return zeroClient.GetAuthorized(ctx, s, d, index)
}

// Has asks whether the holder holds a shard; see Client.Has.
func Has(ctx context.Context, s Stream, stripe erasure.StripeID, index int) (bool, error) {
	return zeroClient.Has(ctx, s, stripe, index)
}

// Delete deletes a stripe at the holder as its owner; see Client.Delete.
func Delete(ctx context.Context, s Stream, self, holder string, d *erasure.Descriptor, index int, secret crypto.DeleteSecret, now time.Time) error {
	return zeroClient.Delete(ctx, s, self, holder, d, index, secret, now)
}

// Audit checks that the holder has a piece of a shard; see Client.Audit.
func Audit(ctx context.Context, s Stream, d *erasure.Descriptor, index, piece int) error {
	return zeroClient.Audit(ctx, s, d, index, piece)
}

// PutPlaced is Client.PutPlaced with the default limits.
func PutPlaced(ctx context.Context, s Stream, d *erasure.Descriptor, index int, data []byte, holders []string) error {
	return zeroClient.PutPlaced(ctx, s, d, index, data, holders)
}

// Put sends shard index of the stripe d (data, d.ShardSize bytes) and
// returns nil once the holder has stored it durably. Refusals: ErrNoSpace,
// ErrDeleted, ErrWrongShard (data is not that shard), ErrBadRequest, ErrBusy.
func (c *Client) Put(ctx context.Context, s Stream, d *erasure.Descriptor, index int, data []byte) error {
	return c.PutPlaced(ctx, s, d, index, data, nil)
}

// PutPlaced is Put with the writer's placement of the stripe: holders[i]
// is the peer ID (peer.ID.String()) meant to hold shard i, "" if none; the
// holder keeps it as its holder map of the stripe. nil sends none.
func (c *Client) PutPlaced(ctx context.Context, s Stream, d *erasure.Descriptor, index int, data []byte, holders []string) error {
	if holders != nil && len(holders) != len(d.Shards) {
		return refuse(ErrBadRequest, fmt.Sprintf("%d holders for %d shards", len(holders), len(d.Shards)))
	}
	if err := checkLocal(d, index); err != nil {
		return err
	}
	if int64(len(data)) != d.ShardSize {
		return refuse(ErrWrongShard, fmt.Sprintf("%d bytes given, the descriptor says %d", len(data), d.ShardSize))
	}
	id := d.ID()
	req := &request{Version: wireVersion, Op: opPut, Stripe: id[:], Index: index, Desc: d.Marshal(), Size: d.ShardSize, Holders: holders}
	return c.do(ctx, s, req, data, nil)
}

// Get fetches shard index of the stripe d as its owner, proving the read
// secret to the holder: self is the caller's peer ID, holder the peer ID
// of the stream's other end (both peer.ID.String()), now the caller's
// clock. The bytes are verified against d's CID: a holder that sends others
// gets ErrWrongShard. Refusals: ErrNotFound, ErrDenied, ErrBusy.
func (c *Client) Get(ctx context.Context, s Stream, self, holder string, d *erasure.Descriptor, index int, secret crypto.ReadSecret, now time.Time) ([]byte, error) {
	return c.GetInto(ctx, s, self, holder, d, index, secret, now, nil)
}

// GetInto is Get reading the shard into dst when len(dst) is the shard
// size (else into a new slice); the result is then dst. On an error dst
// may hold any bytes.
func (c *Client) GetInto(ctx context.Context, s Stream, self, holder string, d *erasure.Descriptor, index int, secret crypto.ReadSecret, now time.Time, dst []byte) ([]byte, error) {
	if err := checkLocal(d, index); err != nil {
		return nil, err
	}
	return c.get(ctx, s, d, index, newProof(domainGet, d.ID(), index, holder, self, now, secret.Prove), dst)
}

// GetAuthorized is Get without a proof, for a requester the holder's
// Authorizer approves (a co-holder repairing the stripe).
func (c *Client) GetAuthorized(ctx context.Context, s Stream, d *erasure.Descriptor, index int) ([]byte, error) {
	if err := checkLocal(d, index); err != nil {
		return nil, err
	}
	return c.get(ctx, s, d, index, nil, nil)
}

func (c *Client) get(ctx context.Context, s Stream, d *erasure.Descriptor, index int, proof *wireProof, dst []byte) ([]byte, error) {
	id := d.ID()
	req := &request{Version: wireVersion, Op: opGet, Stripe: id[:], Index: index, Proof: proof}
	var data []byte
	err := c.do(ctx, s, req, nil, func(resp *response, br *bufio.Reader) error {
		if resp.Size != d.ShardSize {
			return refuse(ErrWrongShard, fmt.Sprintf("the holder announced %d bytes, the descriptor says %d", resp.Size, d.ShardSize))
		}
		buf := dst
		if int64(len(buf)) != resp.Size {
			buf = make([]byte, resp.Size)
		}
		if _, err := io.ReadFull(br, buf); err != nil {
			return ioErr(err, "reading the shard")
		}
		if err := d.VerifyShard(index, buf); err != nil {
			return refuseCause(ErrWrongShard, "the holder sent bytes that do not match the shard's CID", err)
		}
		data = buf
		return nil
	})
	return data, err
}

// Has reports whether the holder holds shard index of the stripe.
func (c *Client) Has(ctx context.Context, s Stream, stripe erasure.StripeID, index int) (bool, error) {
	if index < 0 || index >= erasure.MaxShards {
		return false, refuse(ErrBadRequest, fmt.Sprintf("shard index %d out of range", index))
	}
	var held bool
	req := &request{Version: wireVersion, Op: opHas, Stripe: stripe[:], Index: index}
	err := c.do(ctx, s, req, nil, func(resp *response, _ *bufio.Reader) error {
		held = resp.Held
		return nil
	})
	return held, err
}

// Locate asks any holder, without a proof, for the canonical descriptor of
// the stripe and the indexes of the shards it holds of it (at least one,
// ascending, each < k+m). The descriptor is opened against stripe
// (erasure.OpenDescriptor), so a holder cannot pass off another or a forged
// one: that is ErrWrongShard (also wrapping erasure's error); a malformed
// held list is ErrInternal. Refusals: ErrNotFound (no shard of the stripe
// held), ErrDeleted (the owner deleted it there), ErrBusy. A holder that
// predates the op answers bad-request: the error wraps ErrUnsupported (and
// ErrBadRequest); ask it with Has instead.
func (c *Client) Locate(ctx context.Context, s Stream, stripe erasure.StripeID) (*erasure.Descriptor, []int, error) {
	var (
		d    *erasure.Descriptor
		held []int
	)
	req := &request{Version: wireVersion, Op: opLocate, Stripe: stripe[:]}
	err := c.do(ctx, s, req, nil, func(resp *response, br *bufio.Reader) error {
		if resp.Size <= 0 || resp.Size > erasure.MaxDescriptorSize {
			return refuse(ErrInternal, fmt.Sprintf("malformed response: a descriptor of %d bytes announced, want 1..%d", resp.Size, erasure.MaxDescriptorSize))
		}
		if len(resp.Indexes) == 0 {
			return refuse(ErrInternal, "malformed response: a located stripe without held shards")
		}
		buf := make([]byte, resp.Size)
		if _, err := io.ReadFull(br, buf); err != nil {
			return ioErr(err, "reading the descriptor")
		}
		dd, err := erasure.OpenDescriptor(buf, stripe)
		if err != nil {
			return refuseCause(ErrWrongShard, "the holder sent a descriptor that is not the stripe's", err)
		}
		for _, i := range resp.Indexes { // ascending and in 0..255: decodeResponse checked
			if i >= len(dd.Shards) {
				return refuse(ErrInternal, fmt.Sprintf("malformed response: held shard %d of a %d+%d stripe", i, dd.K, dd.M))
			}
		}
		d, held = dd, resp.Indexes
		return nil
	})
	if err != nil {
		var r *refusal
		if errors.As(err, &r) && r.code == ErrBadRequest {
			err = refuseCause(ErrUnsupported, "the holder refused the locate op (it predates it)", err)
		}
		return nil, nil, err
	}
	return d, held, nil
}

// Delete has the holder delete every shard it holds of the stripe d and
// refuse the stripe from then on, proving the deletion secret (self,
// holder and now as for Get). The proof names shard index; it is fine to
// send it even when the holder no longer holds that shard. Refusals:
// ErrDenied, ErrNotFound (nothing of the stripe held and d refused).
func (c *Client) Delete(ctx context.Context, s Stream, self, holder string, d *erasure.Descriptor, index int, secret crypto.DeleteSecret, now time.Time) error {
	if err := checkLocal(d, index); err != nil {
		return err
	}
	id := d.ID()
	req := &request{Version: wireVersion, Op: opDelete, Stripe: id[:], Index: index, Desc: d.Marshal(),
		Proof: newProof(domainDelete, id, index, holder, self, now, secret.Prove)}
	return c.do(ctx, s, req, nil, nil)
}

// Audit asks the holder for piece (0 ≤ piece < d.Pieces(); choose it at
// random) of shard index with its Merkle proof, and checks it against d's
// root for the shard. nil means the holder has the piece; ErrWrongShard
// (also wrapping erasure.ErrBadProof) that it sent a wrong one; ErrNotFound
// that it does not have the shard (any more).
func (c *Client) Audit(ctx context.Context, s Stream, d *erasure.Descriptor, index, piece int) error {
	if err := checkLocal(d, index); err != nil {
		return err
	}
	if piece < 0 || piece >= d.Pieces() {
		return refuse(ErrBadRequest, fmt.Sprintf("piece %d out of range, a shard has %d", piece, d.Pieces()))
	}
	want := min(max(d.ShardSize-int64(piece)*erasure.PieceSize, 0), erasure.PieceSize)
	id := d.ID()
	req := &request{Version: wireVersion, Op: opAudit, Stripe: id[:], Index: index, Piece: piece}
	return c.do(ctx, s, req, nil, func(resp *response, br *bufio.Reader) error {
		if resp.Size != want {
			return refuse(ErrWrongShard, fmt.Sprintf("the holder announced a piece of %d bytes, want %d", resp.Size, want))
		}
		buf := make([]byte, want)
		if _, err := io.ReadFull(br, buf); err != nil {
			return ioErr(err, "reading the piece")
		}
		proof := make([][32]byte, len(resp.Proof))
		for i, h := range resp.Proof {
			proof[i] = [32]byte(h)
		}
		if err := d.VerifyPiece(index, piece, buf, proof); err != nil {
			return refuseCause(ErrWrongShard, "the holder's piece does not lead to the shard's Merkle root", err)
		}
		return nil
	})
}

// checkLocal refuses a call the caller got wrong, before any I/O.
func checkLocal(d *erasure.Descriptor, index int) error {
	if d == nil {
		return refuse(ErrBadRequest, "no descriptor")
	}
	if err := d.Validate(); err != nil {
		return refuseCause(ErrBadRequest, "invalid descriptor", err)
	}
	if index < 0 || index >= len(d.Shards) {
		return refuse(ErrBadRequest, fmt.Sprintf("shard index %d out of range for a %d+%d stripe", index, d.K, d.M))
	}
	return nil
}

// do sends req (and body) while reading the answer, so that an early
// refusal (busy, no space, a bad descriptor) stops the upload at once. On
// an ok answer it calls read, if not nil, to take the response's body.
func (c *Client) do(ctx context.Context, s Stream, req *request, body []byte, read func(*response, *bufio.Reader) error) error {
	lim := c.Limits.orDefaults()
	m := newMeter(ctx, s, lim)
	defer m.close()
	wdone := make(chan error, 1)
	go func() {
		err := writeMsg(m, marshal(req), body)
		if err == nil {
			m.Fresh() // the holder's work (hashing, fsync) starts now
			s.CloseWrite()
		}
		wdone <- err
	}()
	br := bufio.NewReader(m)
	resp, err := readResponse(br, lim.MaxHeader)
	if err != nil || resp.Status != codeOK {
		m.abortWrite()
		werr := <-wdone
		if err != nil {
			return pickErr(err, werr)
		}
		return resp.err()
	}
	if werr := <-wdone; werr != nil {
		return ioErr(werr, "sending the request")
	}
	if read != nil {
		return read(resp, br)
	}
	return nil
}

func readResponse(br *bufio.Reader, max int) (*response, error) {
	hdr, err := readHeader(br, max)
	var r *refusal
	switch {
	case errors.Is(err, errNoMessage), errors.Is(err, io.ErrUnexpectedEOF):
		return nil, refuseCause(ErrInternal, "the holder closed the stream without an answer", err)
	case errors.As(err, &r):
		return nil, refuse(ErrInternal, "malformed response: "+r.msg)
	case err != nil:
		return nil, ioErr(err, "reading the answer")
	}
	return decodeResponse(hdr)
}

// pickErr chooses between a failed read and a failed write: the write's
// error when it explains the other (our upload stalled, ctx ended).
func pickErr(rerr, werr error) error {
	if werr != nil && !errors.Is(werr, errAborted) && !isStallOrCtx(rerr) && isStallOrCtx(werr) {
		return werr
	}
	return rerr
}

// ioErr passes stalls and context errors through and wraps any other
// stream error in ErrInternal.
func ioErr(err error, what string) error {
	if isStallOrCtx(err) {
		return err
	}
	return refuseCause(ErrInternal, what, err)
}

func isStallOrCtx(err error) bool {
	return errors.Is(err, ErrStalled) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
