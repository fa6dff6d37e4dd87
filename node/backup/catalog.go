package backup

import (
	"context"
	"errors"
	"fmt"
)

// publish adds e to the catalog entries this device knows, seals that
// catalog and moves the head to it, last.
func (w *Writer) publish(ctx context.Context, r *run, e CatalogEntry) (Head, error) {
	known, err := w.Snapshots(ctx)
	if err != nil {
		return Head{}, err
	}
	all := mergeCatalog(known, []CatalogEntry{e})
	cat := catalogOf(all)
	catID, err := r.putRecord(ctx, catalogMagic, &cat)
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
	b, err := w.kv.Get(ctx, []byte(kvCatalogPrefix+w.keys.Device()))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backup: known catalog: %w", err)
	}
	return decodeCatalog(b)
}

// MergeCatalog adds entries (e.g. another device's catalog, read with a
// Reader) to the entries this device knows; the next backup's catalog is
// the union. The write side cannot decrypt catalogs itself, so this is how
// a device's head comes to cover other devices' snapshots.
func (w *Writer) MergeCatalog(ctx context.Context, entries []CatalogEntry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	known, err := w.Snapshots(ctx)
	if err != nil {
		return err
	}
	return w.putKnown(ctx, mergeCatalog(known, entries))
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
