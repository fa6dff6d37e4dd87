package erasure

import (
	"fmt"
	"sync"

	"github.com/ipfs/go-cid"
)

// Encode splits blob into p.K data shards and p.M parity shards and returns
// them with the stripe's descriptor (which carries s unchanged).
//
// Ownership: the data shards that hold only blob bytes share memory with
// blob (no copy); the last partial data shard and the parity shards are one
// new allocation. The caller must not modify blob while it uses the shards.
// Bytes of blob's spare capacity are never touched. An empty blob gives K+M
// empty, non-nil shards (see Descriptor.Validate for the empty-blob rule).
//
// Shards are hashed (CID and Merkle root in one pass each) in parallel, the
// data shards while the parity is being computed. Encode is safe to call
// concurrently.
func Encode(blob []byte, p Params, s Secrets) (*Descriptor, [][]byte, error) {
	d, shards, _, err := EncodeInto(blob, p, s, nil)
	return d, shards, err
}

// EncodeInto is Encode with the caller's scratch memory: the last partial
// data shard and the parity shards are carved from scratch, which is grown
// (a new allocation) when too small. It returns the scratch it used, for
// the caller to use again once it no longer needs the shards: a writer
// putting pack after pack allocates nothing per pack.
func EncodeInto(blob []byte, p Params, s Secrets, scratch []byte) (*Descriptor, [][]byte, []byte, error) {
	if err := p.Validate(); err != nil {
		return nil, nil, scratch, err
	}
	if len(blob) > MaxBlobSize {
		return nil, nil, scratch, fmt.Errorf("%w: %d bytes, the limit is %d (64 MiB)", ErrBlobTooLarge, len(blob), MaxBlobSize)
	}
	n := p.Total()
	d := &Descriptor{
		Version:   Version,
		K:         p.K,
		M:         p.M,
		Size:      int64(len(blob)),
		ShardSize: shardSize(int64(len(blob)), p.K),
		Shards:    make([]cid.Cid, n),
		Secrets:   s,
	}
	if len(blob) == 0 {
		shards := make([][]byte, n)
		for i := range shards {
			shards[i] = []byte{}
			d.Shards[i] = emptyCID
		}
		return d, shards, scratch, nil
	}
	enc, err := encoder(p)
	if err != nil {
		return nil, nil, scratch, err
	}
	ss := int(d.ShardSize)
	// Data shards wholly inside blob alias it; the others (the last partial
	// one, and any past the end of a small blob) and the parity shards come
	// from scratch. The full slice expressions keep every shard from
	// reaching into the next or into blob's spare capacity.
	whole := len(blob) / ss
	extra := (p.K - whole + p.M) * ss
	if cap(scratch) < extra {
		scratch = make([]byte, extra)
	}
	scratch = scratch[:extra]
	shards := make([][]byte, n)
	off := 0
	for i := range n {
		if i < whole {
			shards[i] = blob[i*ss : (i+1)*ss : (i+1)*ss]
			continue
		}
		sh := scratch[off : off+ss : off+ss]
		off += ss
		if i < p.K {
			m := 0
			if start := i * ss; start < len(blob) {
				m = copy(sh, blob[start:])
			}
			clear(sh[m:])
		}
		shards[i] = sh
	}
	hash := func(i int) { d.Shards[i] = ShardCID(shards[i]) }
	var wg sync.WaitGroup
	for i := range p.K {
		wg.Go(func() { hash(i) })
	}
	err = enc.Encode(shards) // reads data shards, writes parity only
	if err == nil {
		for i := p.K; i < n; i++ {
			wg.Go(func() { hash(i) })
		}
	}
	wg.Wait()
	if err != nil {
		return nil, nil, scratch, fmt.Errorf("%w: encode: %v", ErrBadParams, err)
	}
	return d, shards, scratch, nil
}

// Join returns the blob from any K good shards. shards has K+M entries in
// stripe order, nil for a missing one. Shards are checked against their
// CIDs, data shards first and only as many as needed (every given shard is
// checked when fewer than K turn out good); a bad one is treated as missing.
// Rebuilt data shards are checked against their CIDs too, so the result is
// exactly the blob the descriptor names.
//
// The caller's slices are only read. The result is one new allocation (no
// intermediate copies: lost data shards are rebuilt in place inside it).
// Fewer than K good shards give a *TooFewShardsError (ErrTooFewShards). d
// is validated first (ErrBadDescriptor). A stripe of an empty blob needs no
// shard. Join is safe to call concurrently.
func Join(d *Descriptor, shards [][]byte) ([]byte, error) {
	good, err := check(d, shards, false)
	if err != nil {
		return nil, err
	}
	return join(d, shards, good, nil)
}

// inPlace reports whether shard starts where dst does (it was read into
// its place in the result).
func inPlace(shard, dst []byte) bool {
	return len(shard) > 0 && len(dst) > 0 && &shard[0] == &dst[0]
}

// JoinVerified is Join for shards the caller has already checked, each
// against its CID (Descriptor.VerifyShard): every non-nil entry is taken as
// good and not hashed again. Shards it rebuilds are still checked, so a
// descriptor whose CIDs are not one code word is still caught. Fewer than K
// non-nil shards give a *TooFewShardsError.
//
// buf, when it has room for K*ShardSize bytes, holds the result: a data
// shard that already lies at its place in buf (shards[i] is
// buf[i*ShardSize:(i+1)*ShardSize]) is not copied, so a caller that reads
// data shards straight into buf joins them for free. Other shards must not
// overlap buf. The result keeps buf's capacity. With a shorter buf the
// result is a new allocation.
func JoinVerified(d *Descriptor, shards [][]byte, buf []byte) ([]byte, error) {
	if err := checkShape(d, shards); err != nil {
		return nil, err
	}
	good := make([]bool, len(shards))
	n := 0
	var missing []int
	for i, s := range shards {
		switch {
		case s == nil:
			missing = append(missing, i)
		case int64(len(s)) != d.ShardSize:
			return nil, fmt.Errorf("%w: shard %d has %d bytes, want %d (JoinVerified takes only verified shards)", ErrBadParams, i, len(s), d.ShardSize)
		default:
			good[i] = true
			n++
		}
	}
	if n < d.K && d.Size > 0 {
		return nil, &TooFewShardsError{Good: n, Need: d.K, Total: len(shards), Missing: missing}
	}
	return join(d, shards, good, buf)
}

func join(d *Descriptor, shards [][]byte, good []bool, buf []byte) ([]byte, error) {
	if d.Size == 0 {
		return []byte{}, nil
	}
	ss := int(d.ShardSize)
	out := buf
	if cap(out) < d.K*ss {
		out = make([]byte, d.K*ss)
	}
	out = out[:d.K*ss]
	view := make([][]byte, len(shards))
	var rebuilt []int
	for i := range shards {
		switch {
		case good[i]:
			view[i] = shards[i]
			if i < d.K && !inPlace(shards[i], out[i*ss:]) {
				copy(out[i*ss:], shards[i])
			}
		case i < d.K:
			// Zero length, room for one shard: the decoder writes the rebuilt
			// shard here, straight into the result.
			view[i] = out[i*ss : i*ss : (i+1)*ss]
			rebuilt = append(rebuilt, i)
		}
	}
	if len(rebuilt) > 0 {
		if err := rebuild(d, view, rebuilt, true); err != nil {
			return nil, err
		}
	}
	return out[:d.Size], nil // capacity kept: a lent buffer stays whole for its next use
}

// Reconstruct fills, in place, every entry of shards (K+M entries, stripe
// order) that is nil or does not match its CID, for repair. Every given shard
// is checked; rebuilt shards are checked against their CIDs before any entry
// is replaced, so on error shards is unchanged. Entries are replaced by new
// slices: the bytes of a bad shard are never written to. Fewer than K good
// shards give a *TooFewShardsError. Safe to call concurrently on distinct
// shards slices.
func Reconstruct(d *Descriptor, shards [][]byte) error {
	good, err := check(d, shards, true)
	if err != nil {
		return err
	}
	if d.Size == 0 {
		for i := range shards {
			if !good[i] {
				shards[i] = []byte{}
			}
		}
		return nil
	}
	view := make([][]byte, len(shards))
	var rebuilt []int
	for i := range shards {
		if good[i] {
			view[i] = shards[i]
		} else {
			rebuilt = append(rebuilt, i)
		}
	}
	if len(rebuilt) == 0 {
		return nil
	}
	if err := rebuild(d, view, rebuilt, false); err != nil {
		return err
	}
	for _, i := range rebuilt {
		shards[i] = view[i]
	}
	return nil
}
