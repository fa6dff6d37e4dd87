package dht

import (
	"context"
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Provide announces this node as a provider of c to the closest peers (and
// records it locally). Provider records expire after 48 h and nothing
// re-announces them but the caller.
func (d *DHT) Provide(ctx context.Context, c cid.Cid) error {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	if err := d.kad.Provide(ctx, c, true); err != nil {
		return fmt.Errorf("dht: provide %s: %w", c, err)
	}
	return nil
}

// FindProviders returns up to n providers of c (n <= 0: as many as the
// lookup finds), this node included if it provides c. It returns what was
// found when the lookup or the deadline ends; ErrNotFound if nothing.
func (d *DHT) FindProviders(ctx context.Context, c cid.Cid, n int) ([]peer.AddrInfo, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	if n < 0 {
		n = 0
	}
	var out []peer.AddrInfo
	for ai := range d.kad.FindProvidersAsync(ctx, c, n) {
		out = append(out, ai)
	}
	if len(out) == 0 {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("dht: find providers of %s: %w", c, err)
		}
		return nil, fmt.Errorf("%w: providers of %s", ErrNotFound, c)
	}
	return out, nil
}
