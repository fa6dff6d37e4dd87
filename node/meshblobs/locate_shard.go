package meshblobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/erasure"
	"respaldo/node/shard"
)

// LocateVia is the LocateFunc over the shard protocol's locate op: it opens
// a stream to p with open, calls shard.Locate, and closes the stream (resets
// it after a failure). A busy holder is asked again after a short pause, as
// the Blobs does for its own requests. The descriptor comes back in its
// canonical bytes, already opened against id by shard.Locate. A holder that
// predates the op gives an error wrapping shard.ErrUnsupported.
func LocateVia(open OpenFunc) LocateFunc {
	return func(ctx context.Context, p peer.ID, id erasure.StripeID) ([]byte, []int, error) {
		for try := 0; ; try++ {
			d, held, err := locateOnce(ctx, open, p, id)
			if err == nil {
				return d.Marshal(), held, nil
			}
			if !errors.Is(err, shard.ErrBusy) || try == busyRetries {
				return nil, nil, err
			}
			t := time.NewTimer(time.Duration(25<<try) * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, nil, ctx.Err()
			}
		}
	}
}

func locateOnce(ctx context.Context, open OpenFunc, p peer.ID, id erasure.StripeID) (*erasure.Descriptor, []int, error) {
	s, err := open(ctx, p)
	if err != nil {
		return nil, nil, fmt.Errorf("meshblobs: cannot open a stream to %s: %w", p, err)
	}
	d, held, err := shard.Locate(ctx, s, id)
	if err != nil {
		_ = s.Reset()
		return nil, nil, err
	}
	_ = s.Close()
	return d, held, nil
}
