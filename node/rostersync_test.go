package node

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"testing"
)

func TestSyncFrames(t *testing.T) {
	var buf bytes.Buffer
	req := syncRequest{Version: 1, Seq: 7, Hash: make([]byte, 32)}
	if err := writeFrame(&buf, &req); err != nil {
		t.Fatal(err)
	}
	var got syncRequest
	if err := readFrame(bufio.NewReader(&buf), maxRequest, &got); err != nil || got.Seq != 7 || len(got.Hash) != 32 {
		t.Fatalf("%+v %v", got, err)
	}
	for name, b := range map[string][]byte{
		"too long":      binary.AppendUvarint(nil, maxRequest+1),
		"empty":         {0},
		"truncated":     {5, 0xa1},
		"unknown key":   append([]byte{4}, 0xa1, 0x09, 0x01, 0x00),
		"duplicate key": append([]byte{5}, 0xa2, 0x00, 0x01, 0x00, 0x01),
		"not a map":     {1, 0x01},
	} {
		var r syncRequest
		if err := readFrame(bufio.NewReader(bytes.NewReader(b)), maxRequest, &r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzSyncAnswer(f *testing.F) {
	var buf bytes.Buffer
	_ = writeFrame(&buf, &syncAnswer{Version: 1, Seq: 3, Hash: make([]byte, 32), Entries: [][]byte{{1, 2}}})
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		var a syncAnswer
		_ = readFrame(bufio.NewReader(bytes.NewReader(b)), maxAnswer, &a)
	})
}
