package mesh

import "time"

// history is one peer's availability record: for each bucket of the
// sliding window, the number of intervals in which the peer was seen.
// Intervals are numbered from the Unix epoch (floor of time/Interval) and
// buckets likewise (floor of interval/per), so every table slices time the
// same way. Memory is one uint32 per bucket.
type history struct {
	start  int64    // first interval the table heard of the peer in
	last   int64    // last interval marked; start-1 before any
	head   int64    // bucket of the newest slot written (valid once marked)
	marked bool     // whether any interval was marked
	counts []uint32 // ring: bucket b is counts[mod(b, len)]
}

func newHistory(start int64, buckets int) history {
	return history{start: start, last: start - 1, counts: make([]uint32, buckets)}
}

// interval numbers the interval holding t. Times beyond ±292 years of 1970
// saturate instead of overflowing.
func interval(t time.Time, d time.Duration) int64 {
	return floorDiv(int64(t.Sub(time.Unix(0, 0))), int64(d))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func mod(a int64, n int) int {
	m := a % int64(n)
	if m < 0 {
		m += int64(n)
	}
	return int(m)
}

// mark records that the peer was seen in interval iv (per intervals per
// bucket). An interval already marked, an earlier one (a clock that went
// back) and one before start are ignored, so each interval counts once.
func (h *history) mark(iv, per int64) {
	if iv < h.start || iv <= h.last {
		return
	}
	h.last = iv
	b := floorDiv(iv, per)
	n := len(h.counts)
	switch {
	case !h.marked || b-h.head >= int64(n):
		clear(h.counts)
	default:
		for x := h.head + 1; x <= b; x++ {
			h.counts[mod(x, n)] = 0
		}
	}
	h.marked, h.head = true, b
	h.counts[mod(b, n)]++
}

// availability at interval iv: (seen + prior*priorN) / (elapsed + priorN),
// where elapsed counts the intervals of the window (the buckets ending
// with iv's) from the later of its start and h.start up to iv inclusive,
// and seen those of them in which the peer was seen. Always in [0, 1]. A
// reading before the newest mark (the caller's clock went back) sees only
// the buckets the ring still holds.
func (h *history) availability(iv, per int64, prior, priorN float64) float64 {
	n := int64(len(h.counts))
	cur := floorDiv(iv, per)
	winStart := cur - n + 1
	elapsed := iv - max(winStart*per, h.start) + 1
	if elapsed < 0 {
		elapsed = 0
	}
	var seen int64
	if h.marked {
		for b := max(winStart, h.head-n+1); b <= min(h.head, cur); b++ {
			seen += int64(h.counts[mod(b, len(h.counts))])
		}
	}
	seen = min(seen, elapsed) // marks after iv when the clock went back
	if float64(elapsed)+priorN == 0 {
		return prior
	}
	a := (float64(seen) + prior*priorN) / (float64(elapsed) + priorN)
	return min(max(a, 0), 1)
}
