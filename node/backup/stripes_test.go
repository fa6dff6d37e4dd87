package backup

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"respaldo/erasure"
)

// Summary.Stripes names every stripe a restore of the snapshot reads, the
// reused packs of a backup that put no new data included: what the
// reader finds reachable from the snapshot, and the head's catalog.
func TestSummaryStripesAreWhatTheSnapshotNeeds(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	rng := newRand()
	mustWrite(t, filepath.Join(src, "a/big.bin"), randBytes(rng, 3<<20), 0o644)
	mustWrite(t, filepath.Join(src, "b/text.txt"), textBytes(rng, 300<<10), 0o644)
	mustWrite(t, filepath.Join(src, "c.txt"), []byte("c"), 0o644)
	e := newEnv(t, Options{PackSize: 1 << 20})
	ctx := context.Background()
	want := func(sum *Summary) []erasure.StripeID {
		t.Helper()
		reach, err := e.r.Reachable(ctx, []erasure.StripeID{sum.SnapshotID})
		if err != nil {
			t.Fatal(err)
		}
		reach[sum.Head.Catalog] = true
		var out []erasure.StripeID
		for id := range reach {
			out = append(out, id)
		}
		slices.SortFunc(out, func(a, b erasure.StripeID) int { return slices.Compare(a[:], b[:]) })
		return out
	}

	first := e.backup(t, src)
	if got, w := first.Stripes, want(first); !slices.Equal(got, w) {
		t.Fatalf("first backup: Stripes %d %v\nwant %d %v", len(got), got, len(w), w)
	}
	if len(first.Stripes) < 5 {
		t.Fatalf("first backup: only %d stripes", len(first.Stripes))
	}

	// Nothing new: the data and trees are all reused.
	again := e.backup(t, src)
	if again.NewBytes != 0 {
		t.Fatalf("second backup of the same tree: %d new bytes", again.NewBytes)
	}
	if got, w := again.Stripes, want(again); !slices.Equal(got, w) {
		t.Fatalf("backup with no new data: Stripes %d %v\nwant %d %v", len(got), got, len(w), w)
	}
	reused := 0
	for _, id := range again.Stripes {
		if slices.Contains(first.Stripes, id) {
			reused++
		}
	}
	if reused < len(first.Stripes)-3 { // all but the snapshot, catalog and maybe an index pack
		t.Fatalf("backup with no new data names %d of the first backup's %d stripes", reused, len(first.Stripes))
	}

	// Part new, part reused.
	mustWrite(t, filepath.Join(src, "d/new.bin"), randBytes(rng, 1<<20), 0o644)
	third := e.backup(t, src)
	if got, w := third.Stripes, want(third); !slices.Equal(got, w) {
		t.Fatalf("backup with some new data: Stripes %d %v\nwant %d %v", len(got), got, len(w), w)
	}
}
