package backup

import (
	"context"
	"sync"
	"time"
)

// startProgress calls the progress callback every ProgressEvery until the
// returned stop is called.
func (r *run) startProgress(ctx context.Context) (stop func()) {
	fn := r.w.opts.Progress
	if fn == nil {
		return func() {}
	}
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(r.w.opts.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fn(r.progress(time.Since(start), false))
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func (r *run) reportDone(start time.Time) {
	if fn := r.w.opts.Progress; fn != nil {
		fn(r.progress(r.w.opts.Now().Sub(start), true))
	}
}

func (r *run) progress(elapsed time.Duration, done bool) Progress {
	p := Progress{
		Files: r.files.Load(), Dirs: r.dirs.Load(), Bytes: r.bytes.Load(), NewBytes: r.newBytes.Load(),
		StoredBytes: r.stored.Load(), Elapsed: elapsed, Done: done,
	}
	if r.walked.Load() {
		p.TotalFiles, p.TotalBytes = r.totalFiles.Load(), r.totalBytes.Load()
	}
	if s := r.cur.Load(); s != nil {
		p.Path = *s
	}
	return p
}
