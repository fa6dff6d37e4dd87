package dht

import (
	"bytes"
	"fmt"

	record "github.com/libp2p/go-libp2p-record"
)

// HeadValidator validates head records for kad-dht under Namespace. It is
// stateless and safe for concurrent use.
type HeadValidator struct{}

var _ record.Validator = HeadValidator{}

// Validate accepts value under key only if key is a head key, value is a
// canonical head record, the key is the key of the record's verifier, and
// the signature verifies.
func (HeadValidator) Validate(key string, value []byte) error {
	k, err := ParseHeadKey(key)
	if err != nil {
		return err
	}
	r, err := DecodeHeadRecord(value)
	if err != nil {
		return err
	}
	if r.Key() != k {
		return fmt.Errorf("%w: %s", ErrKeyMismatch, key)
	}
	return r.Verify()
}

// Select returns the index of the best record: the highest sequence number;
// among equal sequence numbers the greatest encoding, so every node picks
// the same one; among identical values the first. Values that do not decode
// are skipped; callers (kad-dht) validate values before selecting.
func (HeadValidator) Select(_ string, values [][]byte) (int, error) {
	best, bestSeq := -1, uint64(0)
	for i, v := range values {
		r, err := DecodeHeadRecord(v)
		if err != nil {
			continue
		}
		if best < 0 || r.Seq > bestSeq || (r.Seq == bestSeq && bytes.Compare(v, values[best]) > 0) {
			best, bestSeq = i, r.Seq
		}
	}
	if best < 0 {
		return 0, fmt.Errorf("%w: no valid record among %d", ErrBadRecord, len(values))
	}
	return best, nil
}
