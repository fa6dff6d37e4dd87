package backup

import (
	"context"
	"errors"
	"fmt"

	"respaldo/crypto"
	"respaldo/erasure"
)

// publish adds e to the catalog entries this device knows, seals that
// catalog and moves the head to it, last.
func (w *Writer) publish(ctx context.Context, r *run, e CatalogEntry) (Head, error) {
	known, err := w.known(ctx)
	if err != nil {
		return Head{}, err
	}
	return w.sealCatalog(ctx, mergeCatalog(known, []CatalogEntry{e}), r.putRecord)
}

// sealCatalog puts the catalog of all (live entries and tombstones) with
// put, keeps all as the entries this device knows, and moves the head to
// the new catalog, last.
func (w *Writer) sealCatalog(ctx context.Context, all []CatalogEntry, put func(context.Context, string, any) (erasure.StripeID, error)) (Head, error) {
	cat := catalogOf(all)
	catID, err := put(ctx, catalogMagic, &cat)
	if err != nil {
		return Head{}, err
	}
	if err := w.putKnown(ctx, all); err != nil {
		return Head{}, err
	}
	head, err := w.Head(ctx)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Head{}, err
	}
	head = Head{Device: w.keys.Device(), Catalog: catID, Seq: head.Seq + 1}
	b, err := HeadBytes(head)
	if err != nil {
		return Head{}, err
	}
	if err := w.kv.Put(ctx, []byte(kvHeadPrefix+head.Device), b); err != nil {
		return Head{}, fmt.Errorf("backup: store head: %w", err)
	}
	return head, nil
}

// Head returns this device's head, or an error wrapping ErrNotFound before
// the first backup.
func (w *Writer) Head(ctx context.Context) (Head, error) {
	b, err := w.kv.Get(ctx, []byte(kvHeadPrefix+w.keys.Device()))
	if err != nil {
		return Head{}, err
	}
	return decodeHead(b)
}

// Snapshots lists the catalog entries this device knows: the snapshots it
// made and any merged in with MergeCatalog. It needs no member key; these
// entries (times, paths, tags, sizes) are kept in the KV in the clear, as
// the device holds those files anyway.
func (w *Writer) Snapshots(ctx context.Context) ([]CatalogEntry, error) {
	es, err := w.known(ctx)
	return live(es), err
}

// KnownSnapshots is Writer.Snapshots without a Writer (nor a BlobStore):
// the snapshots the device of keys knows, from kv alone.
func KnownSnapshots(ctx context.Context, kv KV, keys *crypto.WriteKeys) ([]CatalogEntry, error) {
	es, err := known(ctx, kv, keys)
	return live(es), err
}

// known returns the catalog entries this device knows, tombstones included.
func (w *Writer) known(ctx context.Context) ([]CatalogEntry, error) {
	return known(ctx, w.kv, w.keys)
}

func known(ctx context.Context, kv KV, keys *crypto.WriteKeys) ([]CatalogEntry, error) {
	b, err := kv.Get(ctx, []byte(kvCatalogPrefix+keys.Device()))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backup: known catalog: %w", err)
	}
	return decodeCatalog(b)
}

// MergeCatalog adds entries (e.g. another device's catalog, read with a
// Reader's Catalogs, tombstones included) to the entries this device knows; the next backup's catalog is
// the union. The write side cannot decrypt catalogs itself, so this is how
// a device's head comes to cover other devices' snapshots.
func (w *Writer) MergeCatalog(ctx context.Context, entries []CatalogEntry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	known, err := w.known(ctx)
	if err != nil {
		return err
	}
	return w.putKnown(ctx, mergeCatalog(known, entries))
}

// Forget forgets the snapshots ids: their catalog entries become
// tombstones, a new catalog is put and the head moves to it. The data stays
// until a prune. An ID this device does not know gets a tombstone of its
// own (a snapshot of another device; merge that device's catalog first with
// MergeCatalog so that the tombstone keeps its time).
func (w *Writer) Forget(ctx context.Context, ids []erasure.StripeID) (Head, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	known, err := w.known(ctx)
	if err != nil {
		return Head{}, err
	}
	byID := make(map[erasure.StripeID]CatalogEntry, len(known))
	for _, e := range known {
		byID[e.ID] = e
	}
	tombs := make([]CatalogEntry, 0, len(ids))
	for _, id := range ids {
		e, ok := byID[id]
		if !ok {
			e = CatalogEntry{ID: id, Time: w.opts.Now()}
		}
		e.Forgotten = true
		tombs = append(tombs, e)
	}
	return w.sealCatalog(ctx, mergeCatalog(known, tombs), func(ctx context.Context, magic string, v any) (erasure.StripeID, error) {
		id, _, err := putRecord(ctx, w.store, w.keys, magic, v)
		return id, err
	})
}

func (w *Writer) putKnown(ctx context.Context, es []CatalogEntry) error {
	b, err := marshal(catalogOf(es))
	if err != nil {
		return err
	}
	if err := w.kv.Put(ctx, []byte(kvCatalogPrefix+w.keys.Device()), b); err != nil {
		return fmt.Errorf("backup: store known catalog: %w", err)
	}
	return nil
}
