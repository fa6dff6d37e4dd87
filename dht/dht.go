package dht

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	ds "github.com/ipfs/go-datastore"
	kaddht "github.com/libp2p/go-libp2p-kad-dht"
	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// DHT is the mesh's kad-dht: protocols under /respaldo, head records under
// /respaldo/<key> (and nothing else), records in Config.Datastore. Safe for
// concurrent use.
type DHT struct {
	kad *kaddht.IpfsDHT
	h   host.Host
	ds  ds.Batching
	cfg Config
}

// New starts the DHT on h. It serves at once (in server mode) but knows
// nobody until Bootstrap. Close it before closing h.
func New(h host.Host, cfg Config) (*DHT, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	store := cfg.Datastore
	if store == nil {
		store = NewMemDatastore()
	}
	mode := kaddht.ModeServer
	if cfg.Mode == ModeClient {
		mode = kaddht.ModeClient
	}
	opts := []kaddht.Option{
		kaddht.ProtocolPrefix(ProtocolPrefix),
		kaddht.Mode(mode),
		// Only our namespace: no /pk, no /ipns records in the mesh.
		kaddht.Validator(record.NamespacedValidator{Namespace: HeadValidator{}}),
		kaddht.Datastore(store),
		kaddht.MaxRecordAge(cfg.MaxRecordAge),
	}
	kh := h
	if cfg.Members != nil {
		members := cfg.Members
		opts = append(opts,
			kaddht.RoutingTableFilter(func(_ any, p peer.ID) bool { return members(p) }),
			kaddht.QueryFilter(func(_ any, ai peer.AddrInfo) bool { return members(ai.ID) }),
		)
		kh = memberHost{Host: h, allowed: members}
	}
	kad, err := kaddht.New(kh, opts...)
	if err != nil {
		return nil, fmt.Errorf("dht: %w", err)
	}
	return &DHT{kad: kad, h: h, ds: store, cfg: cfg}, nil
}

// Close stops the DHT. It does not close the host or the datastore.
func (d *DHT) Close() error { return d.kad.Close() }

// Kad returns the underlying kad-dht, for what this package does not wrap.
func (d *DHT) Kad() *kaddht.IpfsDHT { return d.kad }

// RoutingTableSize is the number of peers in the routing table.
func (d *DHT) RoutingTableSize() int { return d.kad.RoutingTable().Size() }

// bound applies Config.Timeout to ctx.
func (d *DHT) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.cfg.Timeout)
}

// Bootstrap connects to peers (an invite's addresses, or known members) in
// parallel, waits until the routing table holds one of them, and refreshes
// the table from there. kad-dht itself consults bootstrap peers only when
// its table is empty, so this is how a node joins. It returns how many
// peers it connected to; with none reachable the error wraps
// ErrNoBootstrapPeers. No peers at all (the mesh's first node) is (0, nil).
func (d *DHT) Bootstrap(ctx context.Context, peers []peer.AddrInfo) (int, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	var (
		mu   sync.Mutex
		n    int
		errs []error
		wg   sync.WaitGroup
	)
	for _, p := range peers {
		if p.ID == d.h.ID() {
			continue
		}
		wg.Go(func() {
			err := d.h.Connect(ctx, p)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p.ID, err))
				return
			}
			n++
		})
	}
	wg.Wait()
	if n == 0 {
		if len(errs) == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("%w: %w", ErrNoBootstrapPeers, errors.Join(errs...))
	}
	// A peer enters the table once identify shows it serves the DHT.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for d.RoutingTableSize() == 0 {
		select {
		case <-ctx.Done():
			return n, fmt.Errorf("%w: connected to %d, but none serves the DHT: %w", ErrNoBootstrapPeers, n, ctx.Err())
		case <-tick.C:
		}
	}
	select {
	case err := <-d.kad.RefreshRoutingTable():
		if err != nil {
			return n, fmt.Errorf("dht: refresh routing table: %w", err)
		}
	case <-ctx.Done():
		return n, fmt.Errorf("dht: refresh routing table: %w", ctx.Err())
	}
	return n, nil
}
