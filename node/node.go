package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/dht"
	"respaldo/node/mesh"
	"respaldo/node/meshblobs"
	"respaldo/node/roster"
	"respaldo/node/shard"
	"respaldo/node/store"
)

// Version is the software version nodes announce in heartbeats and status.
var Version = "dev"

// Node is one running respaldo daemon: its store, roster, libp2p host, DHT,
// stream handlers and heartbeats. Open it, Run it, Close it. Its methods
// are safe for concurrent use.
type Node struct {
	dir     string
	cfg     Config
	log     *slog.Logger
	self    peer.ID
	start   time.Time
	store   *store.DiskStore
	roster  *roster.Log
	gater   *dht.AllowList
	host    host.Host
	dht     *dht.DHT
	table   *mesh.Table
	shards  *shard.Handler
	ps      *pubsub.PubSub
	addrSub event.Subscription
	topic   *pubsub.Topic
	sub     *pubsub.Subscription
	joins   joinState // open invites (invite_node.go)

	announce *meshblobs.Announcer // provider records of held stripes (blobs.go)
	repair   *repairState         // the repair loop, and the shard Authorizer (repairloop.go)
	member   memberState          // the member's keys and backups (member_backend.go)
	drain    drainState           // respaldo drain: this node takes no new shards (drain.go)

	life   context.Context // ends at Close
	cancel context.CancelFunc
	bg     sync.WaitGroup // background goroutines (sync, Run)

	rmu     sync.Mutex // serialises roster changes with their persistence
	smu     sync.Mutex // guards syncing and closing
	syncing map[peer.ID]bool
	closing bool
	fork    atomic.Pointer[roster.ForkError] // the last fork met
	stop    chan struct{}                    // closed when Close begins

	closeOnce sync.Once
	closeErr  error
}

// Open opens the node in dir with cfg: the store (DIR/store), the roster
// (from the store's records; it must be there: CreateMesh or a join puts it
// there), the identity, then the libp2p host with a gater that consults the
// roster, the DHT (server mode for role storage, client mode for role
// client, records in the store), the shard and roster-sync stream handlers
// and the heartbeat topic, in that order, so that no peer reaches a
// protocol before its handler exists. Open dials nobody and publishes
// nothing: Run does. logger may be nil.
func Open(ctx context.Context, dir string, cfg Config, logger *slog.Logger) (_ *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	key, err := LoadOrCreateIdentity(dir)
	if err != nil {
		return nil, err
	}
	self, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("node: identity: %w", err)
	}
	table, err := mesh.NewTable(cfg.tableConfig())
	if err != nil {
		return nil, err
	}
	n := &Node{dir: dir, cfg: cfg, log: logger.With("node", shortID(self)), self: self,
		start: cfg.now(), table: table, syncing: map[peer.ID]bool{}, stop: make(chan struct{})}
	n.life, n.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	sopts := store.DefaultOptions()
	sopts.CapacityBytes, sopts.PageCache, sopts.Logger = cfg.CapacityBytes, cfg.PageCache, n.log
	if n.store, err = store.Open(filepath.Join(dir, StoreDir), sopts); err != nil {
		return nil, err
	}
	if n.roster, err = loadRoster(ctx, n.store.Records()); err != nil {
		return nil, err
	}
	m, st := n.roster.Member(roster.PeerID(self.String()), n.now())
	if st != roster.Admitted {
		n.log.Warn("this node is not an admitted member of its roster", "status", st)
	}
	n.gater = dht.NewAllowList(n.allowed, n.revoked)
	hc := dht.DefaultHostConfig()
	hc.Key, hc.Gater, hc.ListenAddrs = key, n.gater, cfg.Listen
	hc.RelayService, hc.NATPortMap = cfg.RelayService, cfg.NATPortMap
	hc.UserAgent = "respaldo/" + Version
	if n.host, err = dht.NewHost(ctx, hc); err != nil {
		return nil, err
	}
	n.repair = newRepairState(n)
	n.shards = &shard.Handler{Store: heldStore{Store: n.store, n: n}, Self: self.String(), Auth: n.repair, Now: cfg.Now, Log: n.log}
	n.host.SetStreamHandler(shard.ProtocolID, dht.RequireMember(n.allowed, n.serveShard))
	n.host.SetStreamHandler(RosterProtocol, dht.RequireMember(n.allowed, n.serveRoster))
	n.host.SetStreamHandler(JoinProtocol, n.serveJoin) // bare: the one protocol guests may speak
	dc := dht.DefaultConfig()
	if m.Role == roster.RoleClient {
		dc.Mode = dht.ModeClient
	}
	dc.Members = n.allowed
	dc.Datastore = dht.NewKVDatastore(n.store.Records(), "dht", store.ErrNotFound)
	dc.MaxRecordAge = n.recordAge()
	if n.dht, err = dht.New(n.host, dc); err != nil {
		return nil, err
	}
	n.announce = &meshblobs.Announcer{Provider: n.dht, Now: cfg.Now}
	n.host.SetStreamHandler(HeadsProtocol, dht.RequireMember(n.allowed, n.serveHeads))
	if err = n.startGossip(); err != nil {
		return nil, err
	}
	if err = n.startAddrBook(); err != nil {
		return nil, err
	}
	n.table.SetMembers(n.meshMembers())
	n.host.Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		n.requestSync(c.RemotePeer())
	}})
	n.startJoins() // join limits, and windows of invites issued before a restart (join_limits.go)
	n.log.Info("node open", "peer", self, "mesh", n.roster.MeshID(), "zone", m.Zone, "role", m.Role,
		"addrs", n.host.Addrs())
	return n, nil
}

// ID returns the node's peer ID.
func (n *Node) ID() peer.ID { return n.self }

// Host returns the libp2p host (for tests and the coming API; do not close it).
func (n *Node) Host() host.Host { return n.host }

// Roster returns the node's roster log; read it, do not append to it (use
// AdmitPeer and RevokePeer, which persist and spread the change).
func (n *Node) Roster() *roster.Log { return n.roster }

// DHT returns the node's DHT.
func (n *Node) DHT() *dht.DHT { return n.dht }

// Store returns the node's shard store.
func (n *Node) Store() *store.DiskStore { return n.store }

// AddrInfo is how other nodes dial this one.
func (n *Node) AddrInfo() peer.AddrInfo {
	return peer.AddrInfo{ID: n.self, Addrs: n.host.Addrs()}
}

// Connect dials p (a member) and waits for the connection.
func (n *Node) Connect(ctx context.Context, p peer.AddrInfo) error {
	return n.host.Connect(ctx, p)
}

// Run dials the members the address book knows, publishes heartbeats
// every Config.Heartbeat, feeds the peer table with the heartbeats
// received, and follows the roster's expiries, until
// ctx ends or the node is closed. It returns nil then. Call it once.
func (n *Node) Run(ctx context.Context) error {
	n.smu.Lock()
	if n.closing {
		n.smu.Unlock()
		return nil
	}
	n.bg.Add(1)
	n.smu.Unlock()
	defer n.bg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-n.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	wg.Go(func() { n.receiveHeartbeats(ctx) })
	wg.Go(func() { n.maintain(ctx) })
	wg.Go(func() { n.runSchedules(ctx) })
	wg.Go(func() { n.repairLoop(ctx) })
	wg.Go(func() {
		if k := n.reconnect(ctx); k > 0 {
			n.log.Info("reconnected", "peers", k)
		}
	})
	n.publishHeartbeats(ctx)
	wg.Wait()
	return nil
}

// Close stops the node: heartbeats, the DHT (which writes its buffered
// records), the host, background roster syncs, then the store. Every
// roster change was persisted when it was made. Close is idempotent and
// returns the first error.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		// From here requestSync and Run start nothing more (they check
		// closing under smu before n.bg.Add).
		n.smu.Lock()
		n.closing = true
		n.smu.Unlock()
		close(n.stop)
		var errs []error
		if n.sub != nil {
			n.sub.Cancel()
		}
		if n.addrSub != nil {
			errs = append(errs, n.addrSub.Close())
		}
		if n.topic != nil {
			errs = append(errs, n.topic.Close())
		}
		if n.dht != nil {
			errs = append(errs, n.dht.Close())
		}
		if n.host != nil {
			errs = append(errs, n.host.Close())
		}
		n.cancel() // pubsub, syncs in flight
		n.bg.Wait()
		if n.store != nil {
			errs = append(errs, n.store.Close())
		}
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

func (n *Node) now() time.Time { return n.cfg.now() }

// allowed is the roster's admission decision, for the gater and handlers.
func (n *Node) allowed(p peer.ID) bool {
	return n.roster != nil && n.roster.Allowed(roster.PeerID(p.String()), n.now())
}

// revoked reports a peer the roster revoked, refused even as a guest.
func (n *Node) revoked(p peer.ID) bool {
	_, st := n.roster.Member(roster.PeerID(p.String()), n.now())
	return st == roster.Revoked
}

// meshMembers converts the roster's members for the peer table.
func (n *Node) meshMembers() map[mesh.PeerID]mesh.Member {
	ms := n.roster.Members(n.now())
	out := make(map[mesh.PeerID]mesh.Member, len(ms))
	for p, m := range ms {
		out[p] = mesh.Member{Zone: m.Zone, Role: m.Role}
	}
	return out
}

// serveShard hands a member's stream to the shard handler.
func (n *Node) serveShard(s network.Stream) {
	defer s.Close()
	remote := s.Conn().RemotePeer()
	n.table.Seen(mesh.PeerID(remote.String()), n.now())
	if err := n.shards.Serve(n.life, remote.String(), s); err != nil {
		n.log.Debug("shard stream", "peer", shortID(remote), "err", err)
	}
}

func shortID(p peer.ID) string {
	s := p.String()
	if len(s) > 8 {
		return s[len(s)-8:]
	}
	return s
}
