package backup

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// ErrCorrupt: bytes that were authenticated (or that a KV returned) do not
// decode as the record they should be, or a chunk does not hash to its ID.
// Permanent: reading again gives the same bytes.
var ErrCorrupt = errors.New("backup: corrupt record")

// Records are CBOR with deterministic (core) encoding, so equal records give
// equal bytes and equal trees get equal chunk IDs.
var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		MaxNestedLevels:  16,
		MaxArrayElements: 1 << 24,
		MaxMapPairs:      1 << 10,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

func marshal(v any) ([]byte, error) { return encMode.Marshal(v) }

// unmarshal decodes data into v, wrapping any failure in ErrCorrupt with
// what was being read.
func unmarshal(what string, data []byte, v any) error {
	if err := decMode.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, what, err)
	}
	return nil
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}
