package mesh

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// wireHeartbeat is the encoding: a CBOR map with small unsigned integer
// keys, every key present, in core deterministic form (RFC 8949 §4.2.1:
// shortest integers, definite lengths, sorted keys). See docs/placement.md.
type wireHeartbeat struct {
	Version  uint64 `cbor:"0,keyasint"`
	Peer     string `cbor:"1,keyasint"`
	Zone     string `cbor:"2,keyasint"`
	Free     int64  `cbor:"3,keyasint"`
	Used     int64  `cbor:"4,keyasint"`
	Shards   int64  `cbor:"5,keyasint"`
	Software string `cbor:"6,keyasint"`
	Uptime   int64  `cbor:"7,keyasint"` // whole seconds
	Seq      uint64 `cbor:"8,keyasint"`
	Sent     int64  `cbor:"9,keyasint"` // Unix milliseconds
}

// wireVersion reads only the version, so that a newer heartbeat (with
// fields this build does not know) is reported as ErrUnknownVersion.
type wireVersion struct {
	Version uint64 `cbor:"0,keyasint"`
}

var (
	encMode    = mustEncMode()
	decMode    = mustDecMode(cbor.ExtraDecErrorUnknownField)
	peekMode   = mustDecMode(cbor.ExtraDecErrorNone)
	errNotCBOR = errors.New("not a CBOR map")
)

func mustEncMode() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // static options
	}
	return em
}

func mustDecMode(extra cbor.ExtraDecErrorCond) cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: extra,
		MaxNestedLevels:   4,
		MaxArrayElements:  64,
		MaxMapPairs:       64,
	}.DecMode()
	if err != nil {
		panic(err) // static options
	}
	return dm
}

// Marshal validates h and returns its canonical encoding (at most
// MaxHeartbeatSize bytes), newly allocated. Uptime is truncated to whole
// seconds and Sent to whole milliseconds. Errors wrap ErrBadHeartbeat.
func (h *Heartbeat) Marshal() ([]byte, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	w := wireHeartbeat{
		Version:  uint64(h.Version),
		Peer:     string(h.Peer),
		Zone:     string(h.Zone),
		Free:     h.FreeBytes,
		Used:     h.UsedBytes,
		Shards:   h.Shards,
		Software: h.Software,
		Uptime:   int64(h.Uptime / time.Second),
		Seq:      h.Seq,
		Sent:     h.Sent.UnixMilli(),
	}
	b, err := encMode.Marshal(&w)
	if err != nil {
		panic("mesh: encoding a valid heartbeat cannot fail: " + err.Error())
	}
	return b, nil
}

// DecodeHeartbeat parses a heartbeat from outside bytes, strictly: at most
// MaxHeartbeatSize bytes; one CBOR map with exactly the known keys, no
// duplicates, tags, indefinite lengths or trailing bytes; the known
// version (else the error also wraps ErrUnknownVersion); values that pass
// Validate; and the canonical encoding only (b must equal Marshal of the
// result). Sent is returned in UTC. Errors wrap ErrBadHeartbeat. The
// result does not alias b. Safe for concurrent use.
func DecodeHeartbeat(b []byte) (*Heartbeat, error) {
	if len(b) > MaxHeartbeatSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadHeartbeat, len(b), MaxHeartbeatSize)
	}
	if len(b) == 0 || b[0]>>5 != 5 { // major type 5: map
		return nil, fmt.Errorf("%w: %v", ErrBadHeartbeat, errNotCBOR)
	}
	var v wireVersion
	if err := peekMode.Unmarshal(b, &v); err != nil {
		return nil, decodeError(err)
	}
	if v.Version != HeartbeatVersion {
		return nil, fmt.Errorf("%w: %w %d (this build reads %d)", ErrBadHeartbeat, ErrUnknownVersion, v.Version, HeartbeatVersion)
	}
	var w wireHeartbeat
	if err := decMode.Unmarshal(b, &w); err != nil {
		return nil, decodeError(err)
	}
	if w.Uptime < 0 || w.Uptime > int64(MaxUptime/time.Second) {
		return nil, fmt.Errorf("%w: uptime %d s out of range", ErrBadHeartbeat, w.Uptime)
	}
	h := &Heartbeat{
		Version:   int(w.Version),
		Peer:      PeerID(w.Peer),
		Zone:      Zone(w.Zone),
		FreeBytes: w.Free,
		UsedBytes: w.Used,
		Shards:    w.Shards,
		Software:  w.Software,
		Uptime:    time.Duration(w.Uptime) * time.Second,
		Seq:       w.Seq,
		Sent:      time.UnixMilli(w.Sent).UTC(),
	}
	again, err := h.Marshal() // validates
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: not in canonical encoding (a field is missing, or integers, lengths or key order are not in their shortest, sorted form)", ErrBadHeartbeat)
	}
	return h, nil
}

func decodeError(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: truncated CBOR", ErrBadHeartbeat)
	}
	return fmt.Errorf("%w: %v", ErrBadHeartbeat, err)
}
