package erasure

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the known-answer files in testdata")

// katBlob is 1 MiB of the bytes 0, 1, ..., 231 (i.e. i%1000 truncated to a
// byte) repeating with period 1000.
func katBlob() []byte {
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(i % 1000)
	}
	return b
}

// TestKnownAnswer pins the format: a fixed blob at 4+2 with zero Secrets has
// a fixed descriptor encoding and stripe ID. If this fails, the format has
// changed: that needs a new Version, not a new answer.
func TestKnownAnswer(t *testing.T) {
	blob := katBlob()
	d, shards := mustEncode(t, blob, Params{4, 2})
	idFile := filepath.Join("testdata", "kat-4+2-1MiB.stripeid")
	descFile := filepath.Join("testdata", "kat-4+2-1MiB.descriptor.hex")
	enc := hex.EncodeToString(d.Marshal())
	if *update {
		if err := os.WriteFile(idFile, []byte(d.ID().String()+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(descFile, []byte(enc+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantID, err := os.ReadFile(idFile)
	if err != nil {
		t.Fatal(err)
	}
	wantDesc, err := os.ReadFile(descFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.ID().String(); got != strings.TrimSpace(string(wantID)) {
		t.Errorf("stripe ID %s, want %s", got, strings.TrimSpace(string(wantID)))
	}
	if enc != strings.TrimSpace(string(wantDesc)) {
		t.Errorf("descriptor encoding changed:\n got %s\nwant %s", enc, strings.TrimSpace(string(wantDesc)))
	}
	// Independent checks of what the answer means.
	id, err := ParseStripeID(strings.TrimSpace(string(wantID)))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(wantDesc)))
	if err != nil {
		t.Fatal(err)
	}
	back, err := OpenDescriptor(raw, id)
	if err != nil {
		t.Fatal(err)
	}
	if back.ShardSize != 1<<18 || back.Pieces() != 4 || back.K != 4 || back.M != 2 || back.Size != 1<<20 {
		t.Fatalf("KAT descriptor: %+v", back)
	}
	for i := range 4 {
		part := blob[i<<18 : (i+1)<<18]
		if back.Shards[i] != ShardCID(part) || back.Root(i) != naiveRoot(part) {
			t.Fatalf("data shard %d is not blob bytes %d..%d", i, i<<18, (i+1)<<18)
		}
	}
	if got, err := Join(back, [][]byte{nil, shards[1], nil, shards[3], shards[4], shards[5]}); err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("Join of the KAT stripe: %v", err)
	}
}
