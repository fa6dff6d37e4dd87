package node

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/node/mesh"
	"respaldo/node/roster"
)

// PeerInfo is what `respaldo peers` shows of one other member: the peer
// table's state (zone and role from the roster, health from heartbeats) and
// what the host knows of the connection.
type PeerInfo struct {
	mesh.PeerState
	Connected bool
	Addrs     []string
	Latency   time.Duration // 0 when not measured yet
}

// Peers returns every other admitted peer (and strangers the table keeps),
// sorted by ID.
func (n *Node) Peers() []PeerInfo {
	var out []PeerInfo
	ps := n.host.Peerstore()
	for _, st := range n.table.Peers(n.now()) {
		if st.ID == mesh.PeerID(n.self.String()) {
			continue
		}
		pi := PeerInfo{PeerState: st}
		if id, err := peer.Decode(string(st.ID)); err == nil {
			pi.Connected = n.host.Network().Connectedness(id) == network.Connected
			for _, a := range ps.Addrs(id) {
				pi.Addrs = append(pi.Addrs, a.String())
			}
			pi.Latency = ps.LatencyEWMA(id)
		}
		out = append(out, pi)
	}
	return out
}

// Status is what `respaldo status` shows.
type Status struct {
	PeerID      string `json:"peer_id"`
	Zone        string `json:"zone"`
	Role        string `json:"role"`
	Version     string `json:"version"`
	PeersTotal  int    `json:"peers_total"`  // other admitted peers
	PeersOnline int    `json:"peers_online"` // of which live (heartbeat within the live window)
	Shards      int    `json:"shards"`
	UsedBytes   int64  `json:"used_bytes"`
	FreeBytes   int64  `json:"free_bytes"`
	// RosterFork describes the last roster fork met, empty if none.
	RosterFork string `json:"roster_fork,omitempty"`
	// Stripes counts the stripes this node holds a shard of, as the repair
	// loop's last pass saw them (all zero before the first pass).
	Stripes StripeCounts `json:"stripes"`
	// RepairQueue is the number of those stripes with shards to rebuild or
	// move (by whichever holder leads each).
	RepairQueue int `json:"repair_queue"`
	// ToleratesLosses is the fewest peer losses any of those stripes
	// survives (0 for a lost one); with no stripe, m of this node's k+m.
	ToleratesLosses int `json:"tolerates_losses"`
	// RepairPass is when the last pass ended; zero before the first.
	RepairPass time.Time `json:"repair_pass,omitempty"`
}

// StripeCounts is Status.Stripes.
type StripeCounts struct {
	Healthy  int `json:"healthy"`
	Degraded int `json:"degraded"`
	AtRisk   int `json:"at_risk"`
	Lost     int `json:"lost"`
}

// Status reports the node's state now.
func (n *Node) Status(ctx context.Context) (Status, error) {
	u, err := n.store.Usage(ctx)
	if err != nil {
		return Status{}, err
	}
	m, _ := n.roster.Member(roster.PeerID(n.self.String()), n.now())
	s := Status{PeerID: n.self.String(), Zone: string(m.Zone), Role: string(m.Role), Version: Version,
		Shards: u.Shards, UsedBytes: u.UsedBytes, FreeBytes: u.FreeBytes}
	if f := n.Fork(); f != nil {
		s.RosterFork = f.Error()
	}
	rep := n.repair.lastReport()
	s.Stripes = StripeCounts{Healthy: rep.Healthy, Degraded: rep.Degraded, AtRisk: rep.AtRisk, Lost: rep.Lost}
	s.RepairQueue, s.ToleratesLosses, s.RepairPass = rep.Queue, rep.ToleratesLosses, rep.At
	if s.ToleratesLosses < 0 { // no stripe held, or no pass yet
		s.ToleratesLosses = 0
		if p, err := n.ecParams(); err == nil {
			s.ToleratesLosses = p.M
		}
	}
	for _, p := range n.Peers() {
		if !p.Member {
			continue
		}
		s.PeersTotal++
		if p.Live {
			s.PeersOnline++
		}
	}
	return s, nil
}
