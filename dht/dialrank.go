package dht

import (
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
)

// TCP before QUIC.
//
// go-libp2p dials QUIC first and TCP 250 ms later. Shards move in bulk,
// and on the same loopback mesh TCP (Noise, yamux) costs much less CPU per
// byte than QUIC (a system call and a packet's worth of work per 1.2 KB
// datagram): through six storage daemons a backup of 552 MB took, in CPU
// seconds, 3.80 on the member's node and 2.72 over the storage daemons on
// TCP against 4.70 and 4.12 on QUIC (scripts/bench-vs-restic.sh with
// TRANSPORT=tcp and both; docs/performance.md). So a node dials a peer's
// direct TCP addresses first, in libp2p's own order among them, and
// everything else (QUIC, relays) tcpHeadStart after the last of them: QUIC
// still connects where TCP is blocked, a quarter of a second later.
const tcpHeadStart = 250 * time.Millisecond

// preferTCP is the hosts' dial ranker.
func preferTCP(addrs []ma.Multiaddr) []network.AddrDelay {
	var tcp, rest []ma.Multiaddr
	for _, a := range addrs {
		if directTCP(a) {
			tcp = append(tcp, a)
		} else {
			rest = append(rest, a)
		}
	}
	if len(tcp) == 0 || len(rest) == 0 {
		return swarm.DefaultDialRanker(addrs)
	}
	out := swarm.DefaultDialRanker(tcp)
	var last time.Duration
	for _, d := range out {
		last = max(last, d.Delay)
	}
	for _, d := range swarm.DefaultDialRanker(rest) {
		d.Delay += last + tcpHeadStart
		out = append(out, d)
	}
	return out
}

// directTCP: a TCP address that is not a relay's, nor a websocket's.
func directTCP(a ma.Multiaddr) bool {
	tcp := false
	for _, c := range a {
		switch c.Protocol().Code {
		case ma.P_TCP:
			tcp = true
		case ma.P_CIRCUIT, ma.P_WS, ma.P_WSS:
			return false
		}
	}
	return tcp
}
