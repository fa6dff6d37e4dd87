package node

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// The address book keeps the listen addresses members announced (identify)
// in the store's records under "peers/<peer ID>" (one multiaddr per line),
// so a restarted node can dial the mesh again: the roster names peers but
// holds no addresses, and the peerstore lives in memory.
const addrPrefix = "peers/"

// reconnectTimeout bounds the dials of reconnect.
const reconnectTimeout = 10 * time.Second

// startAddrBook follows identify events until the subscription closes.
func (n *Node) startAddrBook() error {
	sub, err := n.host.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		return err
	}
	n.addrSub = sub
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		saved := map[peer.ID]string{}
		for ev := range sub.Out() {
			e := ev.(event.EvtPeerIdentificationCompleted)
			if !n.allowed(e.Peer) {
				continue
			}
			var lines []string
			for _, a := range e.ListenAddrs {
				if len(lines) < 16 {
					lines = append(lines, a.String())
				}
			}
			slices.Sort(lines)
			v := strings.Join(lines, "\n")
			if v == "" || saved[e.Peer] == v {
				continue
			}
			saved[e.Peer] = v
			if err := n.store.Records().Put(n.life, []byte(addrPrefix+e.Peer.String()), []byte(v)); err != nil {
				n.log.Debug("address book", "err", err)
			}
		}
	}()
	return nil
}

// reconnect dials, in parallel, every member the address book knows and
// waits for the dials (bounded by reconnectTimeout). Failures are normal:
// a peer may be down.
func (n *Node) reconnect(ctx context.Context) int {
	var infos []peer.AddrInfo
	_ = n.store.Records().Iterate(ctx, []byte(addrPrefix), func(k, v []byte) error {
		id, err := peer.Decode(strings.TrimPrefix(string(k), addrPrefix))
		if err != nil || id == n.self || !n.allowed(id) {
			return nil
		}
		ai := peer.AddrInfo{ID: id}
		for _, s := range strings.Split(string(v), "\n") {
			if a, err := ma.NewMultiaddr(s); err == nil {
				ai.Addrs = append(ai.Addrs, a)
			}
		}
		infos = append(infos, ai)
		return nil
	})
	ctx, cancel := context.WithTimeout(ctx, reconnectTimeout)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for _, ai := range infos {
		wg.Go(func() {
			if n.host.Connect(ctx, ai) == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ok
}
