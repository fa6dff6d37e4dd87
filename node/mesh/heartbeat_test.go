package mesh

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleHeartbeat() *Heartbeat {
	return &Heartbeat{
		Version:   HeartbeatVersion,
		Peer:      "12D3KooWAbCdEf",
		Zone:      "madrid",
		FreeBytes: 1 << 40,
		UsedBytes: 3 << 30,
		Shards:    1234,
		Software:  "respaldo 0.1.0",
		Uptime:    36 * time.Hour,
		Seq:       1_780_000_000_000,
		Sent:      time.UnixMilli(1_780_000_000_123).UTC(),
	}
}

// The byte form is part of the wire format (docs/placement.md): a change
// here breaks mixed-version meshes.
const sampleHex = "aa" + // map of 10 pairs
	"00" + "01" + // 0: version 1
	"01" + "6e" + "313244334b6f6f57416243644566" + // 1: peer, 14 bytes
	"02" + "66" + "6d6164726964" + // 2: zone "madrid"
	"03" + "1b0000010000000000" + // 3: free 2^40
	"04" + "1ac0000000" + // 4: used 3 GiB
	"05" + "1904d2" + // 5: 1234 shards
	"06" + "6e72657370616c646f20302e312e30" + // 6: "respaldo 0.1.0"
	"07" + "1a0001fa40" + // 7: uptime 129600 s
	"08" + "1b0000019e70448800" + // 8: seq
	"09" + "1b0000019e7044887b" // 9: sent, Unix ms

func TestHeartbeatVector(t *testing.T) {
	b, err := sampleHeartbeat().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(b); got != sampleHex {
		t.Fatalf("encoding changed:\n got %s\nwant %s", got, sampleHex)
	}
	h, err := DecodeHeartbeat(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(h, sampleHeartbeat()) {
		t.Fatalf("round trip: got %+v", h)
	}
}

func TestMarshalTruncatesAndIsDeterministic(t *testing.T) {
	h := sampleHeartbeat()
	h.Uptime += 999 * time.Millisecond
	h.Sent = h.Sent.Add(999 * time.Microsecond).In(time.FixedZone("x", 3600))
	a, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := sampleHeartbeat().Marshal()
	if !bytes.Equal(a, b) {
		t.Fatal("sub-second uptime, sub-millisecond time or a time zone changed the encoding")
	}
}

func TestValidateRejectsAbsurdValues(t *testing.T) {
	for name, edit := range map[string]func(*Heartbeat){
		"version 0":        func(h *Heartbeat) { h.Version = 0 },
		"version 2":        func(h *Heartbeat) { h.Version = 2 },
		"empty peer":       func(h *Heartbeat) { h.Peer = "" },
		"peer with space":  func(h *Heartbeat) { h.Peer = "a b" },
		"long peer":        func(h *Heartbeat) { h.Peer = PeerID(strings.Repeat("a", MaxPeerIDLen+1)) },
		"long zone":        func(h *Heartbeat) { h.Zone = Zone(strings.Repeat("z", MaxZoneLen+1)) },
		"zone newline":     func(h *Heartbeat) { h.Zone = "a\nb" },
		"software control": func(h *Heartbeat) { h.Software = "v1\x1b[2J" },
		"bad utf-8":        func(h *Heartbeat) { h.Software = "\xff" },
		"negative free":    func(h *Heartbeat) { h.FreeBytes = -1 },
		"exabytes free":    func(h *Heartbeat) { h.FreeBytes = MaxBytes + 1 },
		"negative used":    func(h *Heartbeat) { h.UsedBytes = -1 },
		"too many shards":  func(h *Heartbeat) { h.Shards = MaxShards + 1 },
		"negative shards":  func(h *Heartbeat) { h.Shards = -5 },
		"negative uptime":  func(h *Heartbeat) { h.Uptime = -time.Second },
		"century uptime":   func(h *Heartbeat) { h.Uptime = MaxUptime + time.Second },
		"zero time":        func(h *Heartbeat) { h.Sent = time.Time{} },
		"before 1970":      func(h *Heartbeat) { h.Sent = time.Unix(-1, 0) },
		"year 10000":       func(h *Heartbeat) { h.Sent = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
	} {
		h := sampleHeartbeat()
		edit(h)
		if err := h.Validate(); !errors.Is(err, ErrBadHeartbeat) {
			t.Errorf("%s: Validate = %v", name, err)
		}
		if b, err := h.Marshal(); err == nil {
			t.Errorf("%s: Marshal gave %x", name, b)
		}
	}
	h := sampleHeartbeat()
	h.Zone, h.Software, h.Seq = "", "", 0
	h.FreeBytes, h.UsedBytes, h.Shards, h.Uptime = MaxBytes, 0, MaxShards, MaxUptime
	h.Sent = time.Unix(0, 0)
	if err := h.Validate(); err != nil {
		t.Errorf("edge values refused: %v", err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRejects(t *testing.T) {
	good, _ := sampleHeartbeat().Marshal()
	withKey := func(key byte, val string) []byte { // good with one more map pair
		b := append([]byte{0xab}, good[1:]...)
		return append(b, append([]byte{key}, mustHex(t, val)...)...)
	}
	v2b := bytes.Clone(good)
	v2b[2] = 0x02 // the version's value
	cases := map[string]struct {
		b       []byte
		version bool
	}{
		"empty":            {b: nil},
		"not a map":        {b: []byte{0x80}},
		"null":             {b: []byte{0xf6}},
		"empty map":        {b: []byte{0xa0}, version: true},
		"truncated":        {b: good[:len(good)-1]},
		"trailing byte":    {b: append(bytes.Clone(good), 0)},
		"oversize":         {b: append(bytes.Clone(good), make([]byte, MaxHeartbeatSize)...)},
		"unknown version":  {b: v2b, version: true},
		"unknown field":    {b: withKey(0x0a, "00")},
		"duplicate key":    {b: withKey(0x09, "00")},
		"indefinite map":   {b: append(append([]byte{0xbf}, good[1:]...), 0xff)},
		"missing field":    {b: append([]byte{0xa9}, good[1:len(good)-10]...)},
		"tagged":           {b: append([]byte{0xc0}, good...)},
		"non-shortest int": {b: bytes.Replace(good, []byte{0x00, 0x01}, []byte{0x00, 0x18, 0x01}, 1)},
	}
	for name, c := range cases {
		h, err := DecodeHeartbeat(c.b)
		if h != nil || !errors.Is(err, ErrBadHeartbeat) {
			t.Errorf("%s: got %v, %v", name, h, err)
			continue
		}
		if errors.Is(err, ErrUnknownVersion) != c.version {
			t.Errorf("%s: unknown version = %v: %v", name, !c.version, err)
		}
	}
	// Values the decoder must refuse even though the CBOR is canonical.
	for name, edit := range map[string]func(*wireHeartbeat){
		"negative free":  func(w *wireHeartbeat) { w.Free = -1 },
		"huge used":      func(w *wireHeartbeat) { w.Used = MaxBytes + 1 },
		"huge uptime":    func(w *wireHeartbeat) { w.Uptime = 1 << 62 },
		"negative time":  func(w *wireHeartbeat) { w.Sent = -1 },
		"far future":     func(w *wireHeartbeat) { w.Sent = 1 << 62 },
		"empty peer":     func(w *wireHeartbeat) { w.Peer = "" },
		"peer with tab":  func(w *wireHeartbeat) { w.Peer = "a\tb" },
		"control zone":   func(w *wireHeartbeat) { w.Zone = "\x00" },
		"shards too big": func(w *wireHeartbeat) { w.Shards = MaxShards + 1 },
	} {
		w := wireHeartbeat{Version: 1, Peer: "p", Sent: 1}
		edit(&w)
		b, err := encMode.Marshal(&w)
		if err != nil {
			t.Fatal(err)
		}
		if h, err := DecodeHeartbeat(b); h != nil || !errors.Is(err, ErrBadHeartbeat) {
			t.Errorf("%s: got %v, %v", name, h, err)
		}
	}
}
