package dht

import (
	"context"
	"errors"
	"fmt"
	"sync"

	ds "github.com/ipfs/go-datastore"
	dsq "github.com/ipfs/go-datastore/query"
	kaddht "github.com/libp2p/go-libp2p-kad-dht"
	kadpb "github.com/libp2p/go-libp2p-kad-dht/pb"
	recpb "github.com/libp2p/go-libp2p-record/pb"
	"github.com/libp2p/go-libp2p/core/routing"
	"google.golang.org/protobuf/proto"
)

// PutHead stores rec on this node (kept in Config.Datastore) and on the
// DHT's closest peers to its key, then asks those peers back and returns
// how many now hold rec or a newer head of the same device. kad-dht's put
// reports no per-peer outcome, hence the second round; 0 means only this
// node holds the head, and the caller should retry later. A head older
// than the one this node holds is refused. With no peer in the routing
// table it fails, after keeping rec on this node.
func (d *DHT) PutHead(ctx context.Context, rec HeadRecord) (int, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	val, err := rec.Marshal()
	if err != nil {
		return 0, err
	}
	key := string(rec.Key())
	if err := d.kad.PutValue(ctx, key, val); err != nil {
		return 0, fmt.Errorf("dht: put head %s seq %d: %w", key, rec.Seq, err)
	}
	return d.holders(ctx, rec)
}

// holders counts the closest peers that answer rec.Key with a valid head
// of sequence rec.Seq or higher.
func (d *DHT) holders(ctx context.Context, rec HeadRecord) (int, error) {
	key := string(rec.Key())
	peers, err := d.kad.GetClosestPeers(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("dht: put head %s: confirm: %w", key, err)
	}
	pm, err := kadpb.NewProtocolMessenger(d.kad.MessageSender())
	if err != nil {
		return 0, fmt.Errorf("dht: put head %s: confirm: %w", key, err)
	}
	var (
		mu sync.Mutex
		n  int
		wg sync.WaitGroup
	)
	for _, p := range peers {
		wg.Go(func() {
			r, _, err := pm.GetValue(ctx, p, key)
			if err != nil || r == nil || (HeadValidator{}).Validate(key, r.GetValue()) != nil {
				return
			}
			if got, err := DecodeHeadRecord(r.GetValue()); err == nil && got.Seq >= rec.Seq {
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return n, nil
}

// GetHead returns the best valid head under key among the first answers
// (this node's copy, then Config.Quorum+1 peers' answers at most); a
// value found before a deadline is returned without error. ErrNotFound if
// none.
func (d *DHT) GetHead(ctx context.Context, key HeadKey) (HeadRecord, error) {
	if _, err := ParseHeadKey(string(key)); err != nil {
		return HeadRecord{}, err
	}
	ctx, cancel := d.bound(ctx)
	defer cancel()
	val, err := d.kad.GetValue(ctx, string(key), kaddht.Quorum(d.cfg.Quorum))
	return d.result(key, val, err)
}

// SearchHead is GetHead without a quorum: it asks every peer the lookup
// reaches and keeps the best answer, so peers withholding the newest head
// cannot roll a reader back unless they are all the reader reaches; then
// it sends the best to the closest peers that lacked it (read repair).
// When ctx or Config.Timeout ends the search, it returns the best so far.
func (d *DHT) SearchHead(ctx context.Context, key HeadKey) (HeadRecord, error) {
	if _, err := ParseHeadKey(string(key)); err != nil {
		return HeadRecord{}, err
	}
	ctx, cancel := d.bound(ctx)
	defer cancel()
	ch, err := d.kad.SearchValue(ctx, string(key))
	if err != nil {
		return d.result(key, nil, err)
	}
	var best []byte
	for v := range ch { // each value is better than the one before
		best = v
	}
	if best == nil && ctx.Err() != nil {
		return d.result(key, nil, ctx.Err())
	}
	return d.result(key, best, nil)
}

// result turns a kad-dht answer into a record. A value found before a
// deadline is returned without the deadline's error.
func (d *DHT) result(key HeadKey, val []byte, err error) (HeadRecord, error) {
	if val == nil {
		if err == nil || errors.Is(err, routing.ErrNotFound) {
			return HeadRecord{}, fmt.Errorf("%w: head %s", ErrNotFound, key)
		}
		return HeadRecord{}, fmt.Errorf("dht: get head %s: %w", key, err)
	}
	rec, err := DecodeHeadRecord(val)
	if err != nil {
		return HeadRecord{}, err
	}
	return rec, nil
}

// StoredHeads lists the valid heads kept in this node's datastore, those
// past MaxRecordAge that kad-dht has not dropped yet included.
func (d *DHT) StoredHeads(ctx context.Context) ([]HeadRecord, error) {
	var out []HeadRecord
	for e, err := range ds.QueryIter(ctx, d.ds, dsq.Query{Prefix: "/" + Namespace}) {
		if err != nil {
			return out, fmt.Errorf("dht: stored heads: %w", err)
		}
		var r recpb.Record
		if proto.Unmarshal(e.Value, &r) != nil {
			continue
		}
		if (HeadValidator{}).Validate(string(r.GetKey()), r.GetValue()) != nil {
			continue
		}
		rec, err := DecodeHeadRecord(r.GetValue())
		if err == nil {
			out = append(out, rec)
		}
	}
	return out, nil
}

// Republish puts every stored head again, which resets its age here and
// at the closest peers. Holders run it well within MaxRecordAge (and at
// start, before an old record is read and dropped), so a head outlives its
// device. It returns how many heads it put; errors are joined.
func (d *DHT) Republish(ctx context.Context) (int, error) {
	heads, err := d.StoredHeads(ctx)
	if err != nil {
		return 0, err
	}
	var errs []error
	n := 0
	for _, rec := range heads {
		val, err := rec.Marshal()
		if err == nil {
			cctx, cancel := d.bound(ctx)
			err = d.kad.PutValue(cctx, string(rec.Key()), val)
			cancel()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", rec.Key(), err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
