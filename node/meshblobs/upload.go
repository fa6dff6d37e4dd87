package meshblobs

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"
)

// The upload limit (Config.UploadLimit, the daemon's --limit-upload): the
// shard bytes a Blobs sends when it puts stripes go through one token
// bucket, chunk by chunk, so that a slow link sees a steady stream at the
// limit instead of bursts at line rate. Holders cut off an upload that
// moves less than shard.DefaultLimits().MinRate (64 KiB/s) for
// StallTimeout, so a limited Blobs also bounds how many shards it sends at
// once: each shard in flight gets at least MinUploadLimit of the limit.

// MinUploadLimit is the lowest Config.UploadLimit (bytes per second) other
// than 0: twice the rate under which holders cut off an upload, so that one
// shard stream at the limit stays well clear of it.
const MinUploadLimit = 128 << 10

// uploadChunk is how many bytes one write takes from the bucket: small
// enough for a smooth stream at MinUploadLimit (8 writes a second), large
// enough that the bucket is not consulted per packet. It is also the
// bucket's burst.
const uploadChunk = 16 << 10

// uploader throttles a Blobs' shard uploads. A nil *uploader throttles
// nothing.
type uploader struct {
	lim   *rate.Limiter
	slots chan struct{} // shard uploads in flight
	// perShard is the rate each shard in flight gets when every slot is
	// taken (at least MinUploadLimit).
	perShard int64
}

// newUploader returns the throttle of limit bytes per second, nil for 0.
func newUploader(limit int64) *uploader {
	if limit <= 0 {
		return nil
	}
	n := max(1, limit/MinUploadLimit)
	return &uploader{
		lim:      rate.NewLimiter(rate.Limit(limit), uploadChunk),
		slots:    make(chan struct{}, n),
		perShard: limit / n,
	}
}

// acquire waits for a slot for one shard upload (before its transfer's
// timeout starts: a shard waiting for its turn is not late) and returns
// its release.
func (u *uploader) acquire(ctx context.Context) (func(), error) {
	if u == nil {
		return func() {}, nil
	}
	select {
	case u.slots <- struct{}{}:
		return func() { <-u.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// wrap returns s with its writes throttled; ctx bounds the waits.
func (u *uploader) wrap(ctx context.Context, s Stream) Stream {
	if u == nil {
		return s
	}
	return &limitedStream{Stream: s, ctx: ctx, lim: u.lim}
}

// putTimeout bounds one put of a shard of size bytes: Config.ShardTimeout
// plus the shard at the slower of Config.MinRate and the rate a shard gets
// under the limit.
func (b *Blobs) putTimeout(size int64) time.Duration {
	if b.up == nil || b.up.perShard >= b.cfg.MinRate {
		return b.cfg.transferTimeout(size)
	}
	return b.cfg.ShardTimeout + time.Duration(float64(size)/float64(b.up.perShard)*float64(time.Second))
}

// limitedStream is a Stream whose writes wait for the upload bucket, in
// chunks of uploadChunk bytes.
type limitedStream struct {
	Stream
	ctx context.Context
	lim *rate.Limiter
}

func (s *limitedStream) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n := min(len(p)-done, uploadChunk)
		if err := s.lim.WaitN(s.ctx, n); err != nil {
			if cerr := s.ctx.Err(); cerr != nil {
				return done, cerr
			}
			// The wait would outlast ctx's deadline.
			return done, fmt.Errorf("meshblobs: upload limit: %w (%v)", context.DeadlineExceeded, err)
		}
		k, err := s.Stream.Write(p[done : done+n])
		done += k
		if err != nil {
			return done, err
		}
	}
	return done, nil
}
