package mesh

import (
	"math/rand/v2"
	"testing"
	"time"
)

// naiveHistory is the model: the set of accepted intervals, counted
// directly.
type naiveHistory struct {
	start, last int64
	marks       []int64
}

func (n *naiveHistory) mark(iv int64) {
	if iv >= n.start && iv > n.last {
		n.last = iv
		n.marks = append(n.marks, iv)
	}
}

func (n *naiveHistory) availability(iv, per int64, buckets int, prior, priorN float64) float64 {
	cur := floorDiv(iv, per)
	ws := (cur - int64(buckets) + 1) * per
	elapsed := max(iv-max(ws, n.start)+1, 0)
	var seen int64
	for _, x := range n.marks {
		if x >= ws && floorDiv(x, per) <= cur {
			seen++
		}
	}
	seen = min(seen, elapsed)
	if float64(elapsed)+priorN == 0 {
		return prior
	}
	return (float64(seen) + prior*priorN) / (float64(elapsed) + priorN)
}

// TestHistoryAgainstModel drives the ring and the model with the same
// random marks (mostly forward, with gaps, repeats and clock jumps back,
// around negative interval numbers too) and compares every reading taken
// at or after the newest mark; earlier readings must stay in [0, 1].
func TestHistoryAgainstModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 0))
	for trial := range 200 {
		per := int64(1 + r.IntN(6))
		buckets := 1 + r.IntN(8)
		start := int64(r.IntN(200)) - 100
		h := newHistory(start, buckets)
		n := &naiveHistory{start: start, last: start - 1}
		prior, priorN := r.Float64(), float64(r.IntN(20))
		iv := start
		for step := range 100 {
			switch r.IntN(10) {
			case 0:
				iv -= int64(r.IntN(10)) // clock back
			case 1:
				iv += int64(r.IntN(int(per) * buckets * 3)) // long gap
			default:
				iv += int64(r.IntN(3))
			}
			if r.IntN(3) > 0 {
				h.mark(iv, per)
				n.mark(iv)
			}
			q := iv + int64(r.IntN(int(per)*buckets*2)) - int64(per)
			got := h.availability(q, per, prior, priorN)
			if got < 0 || got > 1 {
				t.Fatalf("seed %d trial %d step %d: availability %v", seed, trial, step, got)
			}
			if q < n.last {
				// Read before the newest mark (a clock that went back):
				// the ring has already dropped buckets the model keeps.
				continue
			}
			want := n.availability(q, per, buckets, prior, priorN)
			if !approx(got, want) {
				t.Fatalf("seed %d trial %d step %d: per %d buckets %d start %d, at %d: got %v want %v",
					seed, trial, step, per, buckets, start, q, got, want)
			}
		}
	}
}

func TestFloorDiv(t *testing.T) {
	for _, c := range [][3]int64{{7, 2, 3}, {-7, 2, -4}, {-8, 2, -4}, {0, 5, 0}, {-1, 5, -1}} {
		if got := floorDiv(c[0], c[1]); got != c[2] {
			t.Errorf("floorDiv(%d, %d) = %d, want %d", c[0], c[1], got, c[2])
		}
	}
	if got := interval(time.Unix(-1, 0), time.Second); got != -1 {
		t.Errorf("interval before 1970: %d", got)
	}
}
