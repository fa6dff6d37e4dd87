package meshblobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/placement"
	"respaldo/node/shard"
)

// Blobs stores blobs as erasure-coded stripes on the mesh's storage peers.
// It has the shape of node/backup's BlobStore (Put, Get, Has) and is safe
// for concurrent use. See the package documentation for how it works.
type Blobs struct {
	cfg   Config
	self  mesh.PeerID
	hints Hints
	stats counters
	up    *uploader // Config.UploadLimit; nil: none (upload.go)

	mu    sync.Mutex
	slots map[peer.ID]chan struct{} // per-peer stream slots
	ids   map[mesh.PeerID]peer.ID   // decoded peer IDs
	last  Placement
}

// New returns a Blobs wired by c.
func New(c Config) (*Blobs, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	b := &Blobs{
		cfg:   c,
		self:  mesh.PeerID(c.Self.String()),
		hints: c.Hints,
		slots: map[peer.ID]chan struct{}{},
		ids:   map[mesh.PeerID]peer.ID{},
		up:    newUploader(c.UploadLimit),
	}
	if b.hints == nil {
		b.hints = NewMemHints()
	}
	b.stats.minTolerance.Store(-1)
	return b, nil
}

// Placement is where a stripe's shards went: the plan after every retry,
// with its verdicts (ToleratesLosses, Underplaced, ZoneSafe) recomputed for
// the holders that acknowledged.
type Placement struct {
	Stripe erasure.StripeID
	placement.Plan
}

// LastPlacement returns the placement of the last stripe Put stored (a copy),
// and false before the first.
func (b *Blobs) LastPlacement() (Placement, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last.Holders == nil {
		return Placement{}, false
	}
	p := b.last
	p.Holders = append([]mesh.PeerID(nil), p.Holders...)
	return p, true
}

func (b *Blobs) log() *slog.Logger {
	if b.cfg.Log != nil {
		return b.cfg.Log
	}
	return slog.New(slog.DiscardHandler)
}

// peerID decodes a peer table ID; false if it is not a peer ID.
func (b *Blobs) peerID(id mesh.PeerID) (peer.ID, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.ids[id]; ok {
		return p, p != ""
	}
	p, err := peer.Decode(string(id))
	if err != nil {
		p = ""
	}
	b.ids[id] = p
	return p, p != ""
}

// slot takes one of p's stream slots (Config.PerPeer), waiting for one.
func (b *Blobs) slot(ctx context.Context, p peer.ID) (release func(), err error) {
	b.mu.Lock()
	ch, ok := b.slots[p]
	if !ok {
		ch = make(chan struct{}, b.cfg.PerPeer)
		b.slots[p] = ch
	}
	b.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// busyRetries is how often a request answered busy is tried again.
const busyRetries = 4

// call runs one request on a fresh stream to p, within timeout: fn gets the
// stream and a context bounded by timeout. A busy holder is asked again
// after a short pause. The stream is closed after success, reset otherwise.
func (b *Blobs) call(ctx context.Context, p peer.ID, timeout time.Duration, fn func(context.Context, Stream) error) error {
	for try := 0; ; try++ {
		err := b.callOnce(ctx, p, timeout, fn)
		if !errors.Is(err, shard.ErrBusy) || try == busyRetries {
			return err
		}
		t := time.NewTimer(time.Duration(25<<try) * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

func (b *Blobs) callOnce(ctx context.Context, p peer.ID, timeout time.Duration, fn func(context.Context, Stream) error) error {
	release, err := b.slot(ctx, p)
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s, err := b.cfg.Open(ctx, p)
	if err != nil {
		return fmt.Errorf("meshblobs: cannot open a stream to %s: %w", p, err)
	}
	if err = fn(ctx, s); err != nil {
		_ = s.Reset()
		return err
	}
	_ = s.Close() // the exchange is complete: the answer was read
	return nil
}

// skip reports whether lookups leave p out: this node, unless ReadSelf.
func (b *Blobs) skip(p peer.ID) bool { return p == b.cfg.Self && !b.cfg.ReadSelf }

// peerList returns the candidates, and the decoded IDs of the others than
// self: the live storage peers (who hold shards), then the rest.
func (b *Blobs) peerList() (cands []placement.Candidate, storage, other []peer.ID) {
	cands = b.cfg.Peers()
	for _, c := range cands {
		p, ok := b.peerID(c.ID)
		if !ok || b.skip(p) {
			continue
		}
		if c.Live && c.Role == mesh.RoleStorage {
			storage = append(storage, p)
		} else {
			other = append(other, p)
		}
	}
	return cands, storage, other
}
