package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"respaldo/crypto"
	"respaldo/dht"
	"respaldo/node/backup"
	"respaldo/node/roster"
)

// Heads (docs/heads.md): after a backup the node publishes its device's
// head in the DHT as a dht.HeadRecord signed with the device's head key,
// whose payload is the head (backup.HeadBytes: device, catalog stripe,
// sequence) sealed with age to the member's recipient. Every node keeps the
// head records it stores in its records and republishes them (maintain).
//
// A reader with the recovery key but nothing else (a new machine) does not
// know its member's device names, so it cannot compute their DHT keys.
// Instead it asks several nodes for every head record they store
// (/respaldo/heads/1.0.0, members only), opens each payload it can with
// the member's identity, and keeps a record only when the device named
// inside derives the very key that signed it: a head sealed to the member
// by anyone else fails that check. For each device it keeps the highest
// sequence any node gave, so one node withholding a head cannot roll a
// restore back while another answers.

// HeadsProtocol lists the head records a node stores.
const HeadsProtocol = protocol.ID("/respaldo/heads/1.0.0")

const (
	maxHeadsAnswer = 32 << 20 // bytes of one answer
	maxHeadsCount  = 100_000  // records in one answer
	headsPeers     = 8        // nodes asked at once
	headsMaxPeers  = 64       // nodes asked in all
)

var headsDec = func() cbor.DecMode {
	dm, err := cbor.DecOptions{MaxArrayElements: maxHeadsCount, MaxNestedLevels: 4}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// serveHeads answers one request: a CBOR array of the head records this
// node stores, each as dht.HeadRecord.Marshal gives it.
func (n *Node) serveHeads(s network.Stream) {
	defer s.Close()
	ctx, cancel := context.WithTimeout(n.life, 30*time.Second)
	defer cancel()
	_ = s.SetDeadline(time.Now().Add(30 * time.Second))
	recs, err := n.dht.StoredHeads(ctx)
	if err != nil {
		n.log.Info("listing stored heads", "err", err)
		_ = s.Reset()
		return
	}
	out := make([][]byte, 0, len(recs))
	size := 0
	for _, r := range recs {
		b, err := r.Marshal()
		if err != nil || size+len(b) > maxHeadsAnswer-1024 || len(out) >= maxHeadsCount {
			continue
		}
		size += len(b)
		out = append(out, b)
	}
	b, err := cbor.Marshal(out)
	if err != nil {
		_ = s.Reset()
		return
	}
	if _, err := s.Write(b); err != nil {
		_ = s.Reset()
	}
}

// decodeHeadsAnswer decodes an answer of the heads protocol, keeping the
// records that decode and carry a valid signature.
func decodeHeadsAnswer(b []byte) ([]dht.HeadRecord, error) {
	var raw [][]byte
	if err := headsDec.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("heads answer: %w", err)
	}
	out := make([]dht.HeadRecord, 0, len(raw))
	for _, r := range raw {
		rec, err := dht.DecodeHeadRecord(r)
		if err != nil || rec.Verify() != nil {
			continue
		}
		out = append(out, rec)
	}
	return out, nil
}

// askHeads asks p for the head records it stores.
func (n *Node) askHeads(ctx context.Context, p peer.ID) ([]dht.HeadRecord, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	s, err := n.host.NewStream(ctx, p, HeadsProtocol)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	}
	_ = s.CloseWrite()
	b, err := io.ReadAll(io.LimitReader(s, maxHeadsAnswer+1))
	if err != nil {
		_ = s.Reset()
		return nil, err
	}
	if len(b) > maxHeadsAnswer {
		_ = s.Reset()
		return nil, fmt.Errorf("heads answer over %d bytes", maxHeadsAnswer)
	}
	return decodeHeadsAnswer(b)
}

// openHead returns the head inside rec if rec is a head of keys' member:
// its payload opens with the member's identity and names a device whose
// head key is the one that signed rec, with rec's sequence.
func openHead(keys *crypto.MemberKeys, rec dht.HeadRecord) (backup.Head, []byte, bool) {
	plain, err := crypto.Open(rec.Payload, keys.Identity())
	if err != nil {
		return backup.Head{}, nil, false
	}
	h, err := backup.DecodeHead(plain)
	if err != nil || h.Seq != rec.Seq {
		return backup.Head{}, nil, false
	}
	v, err := keys.HeadVerifier(h.Device)
	if err != nil || v != rec.Verifier {
		return backup.Head{}, nil, false
	}
	return h, plain, true
}

// publishHead puts this device's head in the DHT: signed with the device's
// head key, sealed to the member. The record is kept on this node too, and
// maintain republishes it; holders reports how many other nodes hold it.
func (n *Node) publishHead(ctx context.Context, wk *crypto.WriteKeys, h backup.Head) (holders int, err error) {
	defer crashAround(crashHeadPublish, crashHeadPublished)() // test-only crash points (crashpoint.go)
	plain, err := backup.HeadBytes(h)
	if err != nil {
		return 0, err
	}
	sealed, err := crypto.Seal(plain, wk.Recipient())
	if err != nil {
		return 0, err
	}
	rec, err := dht.SignHead(wk.HeadSigner(), h.Seq, sealed)
	if err != nil {
		return 0, err
	}
	return n.dht.PutHead(ctx, rec)
}

// refreshHeads gathers the member's heads from this node's own records
// and from up to headsMaxPeers connected members, and puts into kv each
// device's head that is newer than the one kv has. It returns how many
// devices it knows heads of and how many nodes answered.
func (n *Node) refreshHeads(ctx context.Context, keys *crypto.MemberKeys, kv backup.KV) (devices, answered int, err error) {
	best := map[string]dht.HeadRecord{}
	var mu sync.Mutex
	take := func(recs []dht.HeadRecord) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range recs {
			if old, ok := best[string(r.Key())]; ok && old.Seq >= r.Seq {
				continue
			}
			best[string(r.Key())] = r
		}
	}
	if own, err := n.dht.StoredHeads(ctx); err == nil {
		take(own)
	}
	peers := n.memberPeers()
	rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
	peers = peers[:min(len(peers), headsMaxPeers)]
	sem := make(chan struct{}, headsPeers)
	var wg sync.WaitGroup
	for _, p := range peers {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			recs, err := n.askHeads(ctx, p)
			if err != nil {
				n.log.Debug("heads: peer did not answer", "peer", shortID(p), "err", err)
				return
			}
			take(recs)
			mu.Lock()
			answered++
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(peers) > 0 && answered == 0 {
		return 0, 0, fmt.Errorf("no node answered for the member's heads (asked %d)", len(peers))
	}
	for _, rec := range best {
		h, plain, ok := openHead(keys, rec)
		if !ok {
			continue
		}
		devices++
		if old, err := kv.Get(ctx, backup.HeadKey(h.Device)); err == nil {
			if oh, err := backup.DecodeHead(old); err == nil && oh.Seq >= h.Seq {
				continue
			}
		} else if !errors.Is(err, backup.ErrNotFound) {
			return devices, answered, err
		}
		if err := kv.Put(ctx, backup.HeadKey(h.Device), plain); err != nil {
			return devices, answered, err
		}
	}
	return devices, answered, nil
}

// memberPeers lists the connected peers that are admitted members.
func (n *Node) memberPeers() []peer.ID {
	var out []peer.ID
	for _, p := range n.host.Network().Peers() {
		if p != n.self && n.allowed(p) {
			out = append(out, p)
		}
	}
	return out
}

// storagePeersLive counts the live storage peers other than this node.
func (n *Node) storagePeersLive() int {
	c := 0
	for _, p := range n.candidates() {
		if p.Live && p.Role == roster.RoleStorage && string(p.ID) != n.self.String() {
			c++
		}
	}
	return c
}
