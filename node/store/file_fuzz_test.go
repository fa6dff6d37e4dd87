package store

import (
	"bytes"
	"testing"

	"respaldo/erasure"
)

// FuzzVerifyFile feeds arbitrary shard files (what a damaged disk may hold)
// to the reader: it must never panic, and must return data only when it is
// the shard the file claims to be.
func FuzzVerifyFile(f *testing.F) {
	d, shards, err := erasure.Encode([]byte("shard bytes"), erasure.Params{K: 2, M: 1}, erasure.Secrets{})
	if err != nil {
		f.Fatal(err)
	}
	ref := ShardRef{Stripe: d.ID(), Index: 1}
	good := append(encodeHeader(2, d.Marshal(), 1), shards[1]...)
	f.Add(good)
	f.Add(good[:20])
	f.Add([]byte(fileMagic))
	f.Add(append(encodeHeader(2, d.Marshal(), 0), shards[0]...))
	f.Add(append(encodeHeader(1, d.Marshal(), 1), shards[1]...))
	f.Fuzz(func(t *testing.T, b []byte) {
		data, err := verifyFile(ref, b)
		if err == nil && !bytes.Equal(data, shards[1]) {
			t.Fatalf("verifyFile returned wrong data without error")
		}
		if err == nil {
			return
		}
		if _, _, _, err := readHeader(bytes.NewReader(b)); err == nil {
			if _, _, _, err := splitFile(b); err != nil {
				t.Fatalf("readHeader accepts what splitFile refuses: %v", err)
			}
		}
	})
}

func TestFileNames(t *testing.T) {
	d, _, err := erasure.Encode([]byte("x"), erasure.Params{K: 1, M: 1}, erasure.Secrets{})
	if err != nil {
		t.Fatal(err)
	}
	ref := ShardRef{Stripe: d.ID(), Index: 1}
	name := fileName(d.Shards[1], ref)
	c, got, ok := parseFileName(name)
	if !ok || got != ref || !c.Equals(d.Shards[1]) {
		t.Fatalf("parseFileName(%q) = %v, %v, %v", name, c, got, ok)
	}
	for _, bad := range []string{
		name[:len(name)-1], "x" + name, name + ".shard", ".tmp-" + name,
		fileName(d.Shards[1], ShardRef{Stripe: d.ID(), Index: 1})[:60] + "-01.shard",
		name[:len(name)-len("1.shard")] + "01.shard",
		name[:len(name)-len("1.shard")] + "-1.shard",
	} {
		if _, _, ok := parseFileName(bad); ok {
			t.Errorf("parseFileName accepted %q", bad)
		}
	}
}
