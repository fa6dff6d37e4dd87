package mesh

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

// FuzzDecodeHeartbeat: outside bytes never panic; whatever decodes is
// valid, re-encodes to exactly the same bytes, and decodes again to the
// same value (decode∘encode is the identity on accepted input).
func FuzzDecodeHeartbeat(f *testing.F) {
	good, _ := sampleHeartbeat().Marshal()
	f.Add(good)
	small := &Heartbeat{Version: 1, Peer: "p", Sent: time.Unix(0, 0)}
	b, _ := small.Marshal()
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte{0xa0})
	f.Add([]byte{0xa1, 0x00, 0x02})
	f.Add([]byte{0xbf, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHeartbeat(b)
		if err != nil {
			if h != nil || !errors.Is(err, ErrBadHeartbeat) {
				t.Fatalf("error %v with heartbeat %v", err, h)
			}
			return
		}
		if err := h.Validate(); err != nil {
			t.Fatalf("decoded an invalid heartbeat: %v", err)
		}
		again, err := h.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs (%v):\n in %x\nout %x", err, b, again)
		}
		h2, err := DecodeHeartbeat(again)
		if err != nil || !reflect.DeepEqual(h, h2) {
			t.Fatalf("decode(encode(h)) = %+v, %v; want %+v", h2, err, h)
		}
		if len(b) > MaxHeartbeatSize {
			t.Fatalf("accepted %d bytes", len(b))
		}
	})
}
