package backup

import (
	"context"
	"fmt"

	"respaldo/erasure"
)

// JournalStore is a BlobStore that keeps each pack being put in a local
// journal until the writer has recorded it, so that a run a crash cuts off
// is finished by the next one rather than sent again: the next Backup asks
// the store to resume first, and the packs' chunks are then known to the
// index like any pending pack's (node/meshblobs/journal.go).
type JournalStore interface {
	BlobStore
	// PutJournaled is Put that keeps blob and note until done has
	// recorded the stripe.
	PutJournaled(ctx context.Context, blob []byte, s erasure.Secrets, note []byte, done func(erasure.StripeID) error) (erasure.StripeID, error)
	// ResumePuts finishes the journal's puts, calling done with each
	// stripe and its note; it reports how many it finished and the shard
	// bytes it did not send again.
	ResumePuts(ctx context.Context, done func(erasure.StripeID, []byte) error) (int, int64, error)
}

// pendingNote is what the journal keeps with a pack: its entries, as a
// pending record without the pack's ID.
func pendingNote(es []packEntry) ([]byte, error) {
	return marshal(indexRecord{V: indexVersion, Packs: []indexPack{{Entries: es}}})
}

// resumePuts finishes the packs a cut-off run left in the store's journal
// and records them as pending, before the index cache is loaded.
func (w *Writer) resumePuts(ctx context.Context) (int, int64, error) {
	js, ok := w.store.(JournalStore)
	if !ok {
		return 0, 0, nil
	}
	n, saved, err := js.ResumePuts(ctx, func(id erasure.StripeID, note []byte) error {
		ps, err := decodeIndex(note)
		if err != nil || len(ps) != 1 {
			return fmt.Errorf("backup: journal note of pack %v: %v", id, err)
		}
		return putPending(ctx, w.kv, id, ps[0].Entries)
	})
	if err != nil {
		return n, saved, fmt.Errorf("backup: finishing the last run's packs: %w", err)
	}
	return n, saved, nil
}
