package erasure

import (
	"fmt"
	"sync"

	"github.com/klauspost/reedsolomon"
)

// encoders caches Reed-Solomon encoders (safe for concurrent use) by
// geometry. Building one inverts a matrix; the cache is bounded because
// descriptors, and so geometries, come from outside.
var encoders struct {
	sync.Mutex
	m map[Params]reedsolomon.Encoder
}

const maxCachedEncoders = 32

func encoder(p Params) (reedsolomon.Encoder, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	encoders.Lock()
	defer encoders.Unlock()
	if e, ok := encoders.m[p]; ok {
		return e, nil
	}
	var opts []reedsolomon.Option
	if p.Total() > 32 {
		// The inversion cache keeps one matrix per loss pattern seen; with
		// many shards that is unbounded memory for little gain.
		opts = append(opts, reedsolomon.WithInversionCache(false))
	}
	e, err := reedsolomon.New(p.K, p.M, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadParams, p, err)
	}
	if encoders.m == nil {
		encoders.m = make(map[Params]reedsolomon.Encoder)
	}
	if len(encoders.m) < maxCachedEncoders {
		encoders.m[p] = e
	}
	return e, nil
}
