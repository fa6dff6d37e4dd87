package store

import (
	"context"
	"time"
)

// pacer spaces reads out to a bytes-per-second budget.
type pacer struct {
	rate  int64 // bytes per second; ≤ 0 means no limit
	start time.Time
	done  int64
}

func newPacer(bytesPerSec int64) *pacer {
	return &pacer{rate: bytesPerSec, start: time.Now()}
}

// wait accounts n more bytes and sleeps until they fit the budget, or until
// ctx is done.
func (p *pacer) wait(ctx context.Context, n int64) error {
	p.done += n
	if p.rate <= 0 {
		return ctx.Err()
	}
	due := p.start.Add(time.Duration(float64(p.done) / float64(p.rate) * float64(time.Second)))
	d := time.Until(due)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
