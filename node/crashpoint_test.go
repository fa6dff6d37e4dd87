package node

import (
	"strings"
	"testing"
)

func TestParseCrashAt(t *testing.T) {
	for _, tc := range []struct {
		in    string
		point string
		n     int64
		bad   string
	}{
		{in: "blob-put:3", point: crashBlobPut, n: 3},
		{in: "prune-delete", point: crashPruneDelete, n: 1},
		{in: "head-published:1", point: crashHeadPublished, n: 1},
		{in: "repair-fetched:2", point: crashRepairFetched, n: 2},
		{in: "repair-put:1", point: crashRepairPut, n: 1},
		{in: "repair-drop", point: crashRepairDrop, n: 1},
		{in: "repair-put:0", bad: "N ≥ 1"},
		{in: "repair:1", bad: "unknown point"},
		{in: "blob-put:0", bad: "N ≥ 1"},
		{in: "blob-put:x", bad: "N ≥ 1"},
		{in: "blobput:2", bad: "unknown point"},
	} {
		c, err := parseCrashAt(tc.in)
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("%q: %v, want an error saying %q", tc.in, err, tc.bad)
			}
			continue
		}
		if err != nil || c.point != tc.point || c.n != tc.n {
			t.Errorf("%q: %+v, %v", tc.in, c, err)
		}
	}
	// Unarmed (the variable is not set in tests), a hit does nothing.
	if crash != nil {
		t.Skipf("%s is set", crashEnv)
	}
	crashHit(crashBlobPut)
	crashHitNote(crashRepairPut, func() string { panic("a note is made only at the kill") })
	defer crashAround(crashHeadPublish, crashHeadPublished)()
}
