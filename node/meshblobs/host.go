package meshblobs

import (
	"context"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/node/shard"
)

// HostStreams opens shard-protocol streams on a libp2p host: a
// network.Stream is a Stream as it is.
func HostStreams(h host.Host) OpenFunc {
	return func(ctx context.Context, p peer.ID) (Stream, error) {
		s, err := h.NewStream(ctx, p, shard.ProtocolID)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}
