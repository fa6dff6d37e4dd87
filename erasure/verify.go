package erasure

import "fmt"

// check validates d and the shard count and verifies shards against their
// CIDs: all of them when all is set, else only as many as needed to find K
// good ones (data shards first). It returns which entries are good, or a
// *TooFewShardsError. For an empty blob, an entry is good when it is
// non-nil and empty, and too few is no error.
func check(d *Descriptor, shards [][]byte, all bool) ([]bool, error) {
	if err := checkShape(d, shards); err != nil {
		return nil, err
	}
	good := make([]bool, len(shards))
	if d.Size == 0 {
		for i, s := range shards {
			good[i] = s != nil && len(s) == 0
		}
		return good, nil
	}
	var cands, missing []int
	for i, s := range shards {
		if s == nil {
			missing = append(missing, i)
		} else {
			cands = append(cands, i)
		}
	}
	errs := make([]error, len(shards))
	nGood := 0
	for len(cands) > 0 && (all || nGood < d.K) {
		batch := cands
		if !all {
			batch = cands[:min(len(cands), d.K-nGood)]
		}
		cands = cands[len(batch):]
		parallel(batch, func(i int) { errs[i] = d.VerifyShard(i, shards[i]) })
		for _, i := range batch {
			if errs[i] == nil {
				good[i] = true
				nGood++
			}
		}
	}
	if nGood >= d.K {
		return good, nil
	}
	e := &TooFewShardsError{Good: nGood, Need: d.K, Total: len(shards), Missing: missing}
	for _, err := range errs {
		if se, ok := err.(*ShardError); ok {
			e.Bad = append(e.Bad, se)
		}
	}
	return nil, e
}

// checkShape validates d and that shards has one entry per shard.
func checkShape(d *Descriptor, shards [][]byte) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if len(shards) != d.K+d.M {
		return fmt.Errorf("%w: %d shards given for a %d+%d stripe, want %d (nil for missing)", ErrBadParams, len(shards), d.K, d.M, d.K+d.M)
	}
	return nil
}

// rebuild runs the decoder over view (good shards present, others nil or
// zero-length with capacity) and checks the shards it rebuilt, listed in
// idx, against their CIDs. A mismatch means the descriptor's CIDs are not
// one Reed-Solomon code word: the descriptor is inconsistent.
func rebuild(d *Descriptor, view [][]byte, idx []int, dataOnly bool) error {
	enc, err := encoder(d.Params())
	if err != nil {
		return err
	}
	if dataOnly {
		err = enc.ReconstructData(view)
	} else {
		err = enc.Reconstruct(view)
	}
	if err != nil {
		return fmt.Errorf("%w: rebuilding shards %v: %v", ErrBadDescriptor, idx, err)
	}
	errs := make([]error, len(view))
	parallel(idx, func(i int) { errs[i] = d.VerifyShard(i, view[i]) })
	for _, i := range idx {
		if errs[i] != nil {
			return fmt.Errorf("%w: shards are not one Reed-Solomon code word: rebuilt %w", ErrBadDescriptor, errs[i])
		}
	}
	return nil
}
