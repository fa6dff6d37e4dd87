package node

import (
	"context"
	"math/rand/v2"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/dht"
	"respaldo/node/mesh"
	"respaldo/node/roster"
)

// HeartbeatTopic is the gossipsub topic of heartbeats (mesh.Heartbeat,
// signed by the sender's peer key: pubsub's StrictSign).
const HeartbeatTopic = "/respaldo/heartbeat/1"

// startGossip starts gossipsub (members only), joins the heartbeat topic
// with its validator, subscribes, and starts the watch on stale
// connections.
func (n *Node) startGossip() error {
	var err error
	// MembersOnly: pubsub's peer filter decides what a peer is sent, not
	// whether it may open a stream; a join-window guest must get neither.
	n.ps, err = pubsub.NewGossipSub(n.life, dht.MembersOnly(n.host, n.allowed),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		pubsub.WithPeerFilter(func(p peer.ID, _ string) bool { return n.allowed(p) }),
	)
	if err != nil {
		return err
	}
	if err = n.ps.RegisterTopicValidator(HeartbeatTopic, n.validateHeartbeat); err != nil {
		return err
	}
	if n.topic, err = n.ps.Join(HeartbeatTopic); err != nil {
		return err
	}
	if n.sub, err = n.topic.Subscribe(); err != nil {
		return err
	}
	n.watchConns() // connwatch.go: gossipsub sticks to dead connections
	return nil
}

// validateHeartbeat accepts a heartbeat only if its author (the key that
// signed it; pubsub has checked the signature) and the peer that forwarded
// it are members, and the heartbeat names its author. Anything else is
// rejected, which also counts against the forwarder in gossipsub's scores.
func (n *Node) validateHeartbeat(_ context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	if _, ok := n.checkHeartbeat(from, msg.GetFrom(), msg.Data); !ok {
		return pubsub.ValidationReject
	}
	return pubsub.ValidationAccept
}

// checkHeartbeat is validateHeartbeat's decision on plain values.
func (n *Node) checkHeartbeat(from, author peer.ID, data []byte) (*mesh.Heartbeat, bool) {
	if (from != n.self && !n.allowed(from)) || (author != n.self && !n.allowed(author)) {
		return nil, false
	}
	hb, err := mesh.DecodeHeartbeat(data)
	if err != nil || hb.Peer != mesh.PeerID(author.String()) {
		return nil, false
	}
	return hb, true
}

// receiveHeartbeats feeds the peer table until ctx ends.
func (n *Node) receiveHeartbeats(ctx context.Context) {
	for {
		msg, err := n.sub.Next(ctx)
		if err != nil {
			return
		}
		if msg.GetFrom() == n.self {
			continue
		}
		// Validated already; decode again rather than trust ValidatorData.
		if hb, ok := n.checkHeartbeat(msg.ReceivedFrom, msg.GetFrom(), msg.Data); ok {
			n.table.Observe(hb, n.now())
		}
	}
}

// rosterCheckEvery: every so many heartbeats, the node also pulls the
// roster from one connected member, in case a change's push was lost.
const rosterCheckEvery = 12

// antiEntropy pulls from one connected member, chosen at random.
func (n *Node) antiEntropy() {
	ps := n.host.Network().Peers()
	if len(ps) > 0 {
		n.requestSync(ps[rand.IntN(len(ps))])
	}
}

// publishHeartbeats publishes one heartbeat at once and then one every
// Config.Heartbeat until ctx ends; it also follows the roster's expiries.
func (n *Node) publishHeartbeats(ctx context.Context) {
	seq := uint64(n.now().UnixMilli()) // grows across restarts too
	t := time.NewTicker(n.cfg.Heartbeat)
	defer t.Stop()
	for tick := 1; ; tick++ {
		seq++
		if hb, err := n.heartbeat(ctx, seq); err != nil {
			n.log.Warn("heartbeat", "err", err)
		} else if b, err := hb.Marshal(); err != nil {
			n.log.Warn("heartbeat", "err", err)
		} else if err := n.topic.Publish(ctx, b); err != nil && ctx.Err() == nil {
			n.log.Debug("heartbeat publish", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.followExpiries() // the table's members, and expired peers' connections closed (expiry.go)
		if tick%rosterCheckEvery == 0 {
			n.antiEntropy()
		}
	}
}

// heartbeat is this node's heartbeat now. A client offers no space, nor
// does a node being drained (drain.go), so that no writer and no repair
// places a new shard on it.
func (n *Node) heartbeat(ctx context.Context, seq uint64) (*mesh.Heartbeat, error) {
	u, err := n.store.Usage(ctx)
	if err != nil {
		return nil, err
	}
	now := n.now()
	m, _ := n.roster.Member(roster.PeerID(n.self.String()), now)
	free := min(u.FreeBytes, mesh.MaxBytes)
	if m.Role != roster.RoleStorage || n.drain.active.Load() {
		free = 0
	}
	return &mesh.Heartbeat{
		Version:   mesh.HeartbeatVersion,
		Peer:      mesh.PeerID(n.self.String()),
		Zone:      m.Zone,
		FreeBytes: free,
		UsedBytes: min(u.UsedBytes, mesh.MaxBytes),
		Shards:    min(int64(u.Shards), mesh.MaxShards),
		Software:  "respaldo " + Version,
		Uptime:    now.Sub(n.start).Truncate(time.Second),
		Seq:       seq,
		Sent:      now,
	}, nil
}
