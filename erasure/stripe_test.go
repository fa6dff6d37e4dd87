package erasure

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// sizes near the interesting boundaries for k, pieces and padding.
func pickSize(r *rand.Rand, k int) int {
	switch r.IntN(6) {
	case 0:
		return r.IntN(4 * k) // fewer bytes than shards, or about
	case 1:
		return r.IntN(3000)
	case 2:
		return k*PieceSize + r.IntN(5) - 2 // around one piece per shard
	case 3:
		return k*3*PieceSize + r.IntN(2*k+1) - k
	default:
		return r.IntN(3 << 20)
	}
}

// TestJoinAnySubset: for random sizes and geometries, Join gives the blob
// back from every k-subset (exhaustively where small, sampled otherwise) and
// from random subsets larger than k.
func TestJoinAnySubset(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	iters := 40
	if testing.Short() {
		iters = 10
	}
	for range iters {
		p := Params{K: 1 + r.IntN(10), M: r.IntN(5)}
		size := pickSize(r, p.K)
		blob := randBlob(r, size)
		d, shards := mustEncode(t, blob, p)
		n := p.Total()
		subsets := choose(n, p.K)
		if size > 64<<10 || len(subsets) > 300 {
			r.Shuffle(len(subsets), func(i, j int) { subsets[i], subsets[j] = subsets[j], subsets[i] })
			subsets = subsets[:min(len(subsets), 6)]
		}
		for range 3 { // a few larger subsets too
			subsets = append(subsets, r.Perm(n)[:p.K+r.IntN(p.M+1)])
		}
		for _, idx := range subsets {
			got, err := Join(d, keep(shards, idx))
			if err != nil {
				t.Fatalf("%v size %d keep %v: %v", p, size, idx, err)
			}
			if !bytes.Equal(got, blob) {
				t.Fatalf("%v size %d keep %v: wrong blob", p, size, idx)
			}
			got, err = JoinVerified(d, keep(shards, idx), nil)
			if err != nil || !bytes.Equal(got, blob) {
				t.Fatalf("%v size %d keep %v: JoinVerified: %v", p, size, idx, err)
			}
			// Data shards read straight into their place in a buffer whose
			// other bytes are garbage: the result is that buffer.
			if size > 0 {
				ss := int(d.ShardSize)
				buf := randBlob(r, p.K*ss+r.IntN(3))
				in := keep(shards, idx)
				for i := range p.K {
					if in[i] != nil && r.IntN(3) > 0 {
						copy(buf[i*ss:], in[i])
						in[i] = buf[i*ss : (i+1)*ss]
					}
				}
				got, err = JoinVerified(d, in, buf)
				if err != nil || !bytes.Equal(got, blob) || &got[0] != &buf[0] {
					t.Fatalf("%v size %d keep %v: JoinVerified into a buffer: %v", p, size, idx, err)
				}
			}
		}
		if p.M > 0 && size > 0 { // one fewer than k is never enough
			idx := r.Perm(n)[:p.K-1]
			if _, err := Join(d, keep(shards, idx)); !errors.Is(err, ErrTooFewShards) {
				t.Fatalf("%v size %d keep %v: %v, want ErrTooFewShards", p, size, idx, err)
			}
			if _, err := JoinVerified(d, keep(shards, idx), nil); !errors.Is(err, ErrTooFewShards) {
				t.Fatalf("%v size %d keep %v: JoinVerified: %v, want ErrTooFewShards", p, size, idx, err)
			}
		}
	}
}

// TestReconstructExact: Reconstruct rebuilds exactly the original shards,
// whether they were missing or corrupted.
func TestReconstructExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	iters := 40
	if testing.Short() {
		iters = 10
	}
	for range iters {
		p := Params{K: 1 + r.IntN(10), M: r.IntN(5)}
		size := pickSize(r, p.K)
		blob := randBlob(r, size)
		d, orig := mustEncode(t, blob, p)
		shards := cloneShards(orig)
		lost := r.Perm(p.Total())[:r.IntN(p.M+1)]
		for j, i := range lost {
			switch {
			case j%3 == 1 && size > 0:
				shards[i][r.IntN(len(shards[i]))] ^= 1 << r.IntN(8) // flipped bit
			case j%3 == 2 && size > 0:
				shards[i] = shards[i][:len(shards[i])-1] // truncated
			default:
				shards[i] = nil
			}
		}
		if err := Reconstruct(d, shards); err != nil {
			t.Fatalf("%v size %d lost %v: %v", p, size, lost, err)
		}
		for i := range orig {
			if !bytes.Equal(shards[i], orig[i]) || shards[i] == nil {
				t.Fatalf("%v size %d lost %v: shard %d not rebuilt exactly", p, size, lost, i)
			}
		}
	}
}

func TestEncodeShape(t *testing.T) {
	blob := randBlob(rand.New(rand.NewPCG(5, 6)), 1000003)
	// Spare capacity must not be touched by Split.
	withCap := make([]byte, len(blob), len(blob)+4096)
	copy(withCap, blob)
	spare := withCap[len(blob):cap(withCap)]
	for i := range spare {
		spare[i] = 0xAA
	}
	d, shards := mustEncode(t, withCap, Params{4, 2})
	for i, b := range spare {
		if b != 0xAA {
			t.Fatalf("Encode wrote into the blob's spare capacity at +%d", i)
		}
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.ShardSize != 250001 || d.Size != int64(len(blob)) || d.Pieces() != 4 {
		t.Fatalf("ShardSize %d Size %d Pieces %d", d.ShardSize, d.Size, d.Pieces())
	}
	for i, s := range shards {
		want := cid.NewCidV1(cid.Raw, mustMerkleMH(t, s))
		if d.Shards[i] != want || ShardCID(s) != want {
			t.Fatalf("shard %d CID %s, want %s", i, d.Shards[i], want)
		}
		if d.Root(i) != naiveRoot(s) {
			t.Fatalf("shard %d root mismatch", i)
		}
		if err := d.VerifyShard(i, s); err != nil {
			t.Fatal(err)
		}
		if i < d.K {
			lo := min(i*int(d.ShardSize), len(blob))
			hi := min(lo+int(d.ShardSize), len(blob))
			if !bytes.Equal(s[:hi-lo], blob[lo:hi]) || bytes.ContainsFunc(s[hi-lo:], func(r rune) bool { return r != 0 }) {
				t.Fatalf("data shard %d is not blob bytes then zero padding", i)
			}
		}
	}
	if got := d.ShardIndexes(d.Shards[5]); len(got) != 1 || got[0] != 5 {
		t.Fatalf("ShardIndexes = %v", got)
	}
}

// mustMerkleMH is the multihash of a shard CID built with go-multihash
// itself: code MerkleSHA256, digest the independent Merkle root.
func mustMerkleMH(t *testing.T, b []byte) mh.Multihash {
	root := naiveRoot(b)
	h, err := mh.Encode(root[:], MerkleSHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mh.Cast(h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestEncodeErrors(t *testing.T) {
	if _, _, err := Encode([]byte("x"), Params{0, 1}, Secrets{}); !errors.Is(err, ErrBadParams) {
		t.Errorf("k=0: %v", err)
	}
	if _, _, err := Encode([]byte("x"), Params{200, 100}, Secrets{}); !errors.Is(err, ErrBadParams) || !strings.Contains(err.Error(), "k+m=300 exceeds 256 shards") {
		t.Errorf("k+m=300: %v", err)
	}
	big := make([]byte, MaxBlobSize+1)
	if _, _, err := Encode(big, DefaultParams, Secrets{}); !errors.Is(err, ErrBlobTooLarge) {
		t.Errorf("too large: %v", err)
	}
	d := Descriptor{Version: Version, K: 1, M: 0, Size: MaxBlobSize, ShardSize: MaxBlobSize, Shards: []cid.Cid{ShardCID(nil)}}
	if err := d.Validate(); err != nil {
		t.Errorf("MaxBlobSize: %v", err)
	}
}

func TestEmptyBlob(t *testing.T) {
	sec := Secrets{Nonce: [32]byte{1}, DeleteKey: [32]byte{2}, ReadKey: [32]byte{3}}
	d, shards, err := Encode(nil, Params{3, 2}, sec)
	if err != nil {
		t.Fatal(err)
	}
	if d.ShardSize != 0 || d.Size != 0 || d.Pieces() != 1 || len(shards) != 5 || d.Secrets != sec {
		t.Fatalf("empty stripe: %+v", d)
	}
	for i, s := range shards {
		if s == nil || len(s) != 0 || d.Shards[i] != ShardCID(nil) {
			t.Fatalf("shard %d: %v %s", i, s, d.Shards[i])
		}
	}
	if got := d.ShardIndexes(ShardCID(nil)); len(got) != 5 {
		t.Fatalf("ShardIndexes = %v", got)
	}
	got, err := Join(d, make([][]byte, 5))
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Join(no shards) = %v, %v", got, err)
	}
	in := [][]byte{nil, {1}, {}, nil, nil}
	if err := Reconstruct(d, in); err != nil {
		t.Fatal(err)
	}
	for i, s := range in {
		if s == nil || len(s) != 0 {
			t.Fatalf("Reconstruct: shard %d = %v", i, s)
		}
	}
	// Piece proof of an empty shard.
	data, proof, err := PieceProof(shards[0], 0)
	if err != nil || len(data) != 0 || len(proof) != 0 {
		t.Fatalf("PieceProof: %v %v %v", data, proof, err)
	}
	if err := d.VerifyPiece(0, 0, data, proof); err != nil {
		t.Fatal(err)
	}
	// The empty-blob rule is enforced.
	bad := *d
	bad.Shards = append([]cid.Cid(nil), d.Shards...)
	bad.Shards[1] = ShardCID([]byte{0})
	if err := bad.Validate(); !errors.Is(err, ErrBadDescriptor) {
		t.Fatalf("non-empty shard in an empty stripe: %v", err)
	}
}

// TestJoinBadShards: corrupt, truncated, extended and misplaced shards are
// treated as missing; the caller's slices are not modified; with too few,
// the error names the good count and the bad shards.
func TestJoinBadShards(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	blob := randBlob(r, 300000)
	d, orig := mustEncode(t, blob, Params{4, 2})
	shards := cloneShards(orig)
	shards[0][123] ^= 0x10                      // flipped bit
	shards[2] = shards[2][:len(shards[2])-1]    // truncated
	shards[3] = append(bytes.Clone(orig[3]), 0) // one byte too many
	snapshot := cloneShards(shards)

	got, err := Join(d, shards)
	var tf *TooFewShardsError
	if !errors.As(err, &tf) || !errors.Is(err, ErrTooFewShards) || !errors.Is(err, ErrShardMismatch) {
		t.Fatalf("Join with 3 bad of 6: %v, %v", got, err)
	}
	if tf.Good != 3 || tf.Need != 4 || len(tf.Bad) != 3 || len(tf.Missing) != 0 {
		t.Fatalf("TooFewShardsError %+v", tf)
	}
	for j, want := range []int{0, 2, 3} {
		if tf.Bad[j].Index != want {
			t.Fatalf("bad shard %d is %d, want %d", j, tf.Bad[j].Index, want)
		}
	}
	var se *ShardError
	if !errors.As(err, &se) || se.Index != 0 {
		t.Fatalf("errors.As ShardError: %v", se)
	}
	msg := err.Error()
	for _, want := range []string{"too few good shards", "3 good of 6, need 4", "shard 0:", "shard 2:", "74999 bytes, want 75000", "shard 3:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message is not one line: %q", msg)
	}
	for i := range shards {
		if !bytes.Equal(shards[i], snapshot[i]) {
			t.Fatalf("Join modified shard %d", i)
		}
	}
	if err := Reconstruct(d, shards); !errors.Is(err, ErrTooFewShards) {
		t.Fatalf("Reconstruct with 3 bad: %v", err)
	}
	for i := range shards {
		if !bytes.Equal(shards[i], snapshot[i]) {
			t.Fatalf("failed Reconstruct modified shard %d", i)
		}
	}

	// With one bad data shard and a shard in the wrong place, Join still works.
	shards = cloneShards(orig)
	shards[1][0] ^= 1
	shards[4], shards[5] = shards[5], shards[4]
	shards[5] = nil
	snapshot = cloneShards(shards)
	// Now: 0, 2, 3 good; 1 bad; 4 misplaced (holds 5's bytes); 5 missing.
	if _, err := Join(d, shards); !errors.Is(err, ErrTooFewShards) {
		t.Fatalf("3 good: %v", err)
	}
	shards[5] = orig[5]
	got, err = Join(d, shards)
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("Join around a bad and a misplaced shard: %v", err)
	}
	for i := range snapshot[:5] {
		if !bytes.Equal(shards[i], snapshot[i]) {
			t.Fatalf("Join modified shard %d", i)
		}
	}
	if err := Reconstruct(d, shards); err != nil {
		t.Fatal(err)
	}
	for i := range orig {
		if !bytes.Equal(shards[i], orig[i]) {
			t.Fatalf("Reconstruct: shard %d differs", i)
		}
	}
	if !bytes.Equal(snapshot[1], func() []byte { b := bytes.Clone(orig[1]); b[0] ^= 1; return b }()) {
		t.Fatal("Reconstruct wrote into the caller's bad shard bytes")
	}
}

func TestJoinWrongCount(t *testing.T) {
	d, shards := mustEncode(t, []byte("hello"), Params{2, 1})
	_, err := Join(d, [][]byte{shards[0], nil, nil})
	if !errors.Is(err, ErrTooFewShards) || err.Error() != "too few good shards: 1 good of 3, need 2; missing 1, 2" {
		t.Fatalf("one of 2+1: %v", err)
	}
	if _, err := Join(d, shards[:2]); !errors.Is(err, ErrBadParams) {
		t.Fatalf("2 slots for 2+1: %v", err)
	}
	if _, err := JoinVerified(d, shards[:2], nil); !errors.Is(err, ErrBadParams) {
		t.Fatalf("JoinVerified, 2 slots for 2+1: %v", err)
	}
	if _, err := JoinVerified(d, [][]byte{shards[0][:1], shards[1], nil}, nil); !errors.Is(err, ErrBadParams) {
		t.Fatalf("JoinVerified, a short shard: %v", err)
	}
	if _, err := JoinVerified(d, [][]byte{shards[0], nil, nil}, nil); !errors.Is(err, ErrTooFewShards) {
		t.Fatalf("JoinVerified, one of 2+1: %v", err)
	}
	if err := Reconstruct(d, append(shards, nil)); !errors.Is(err, ErrBadParams) {
		t.Fatalf("4 slots for 2+1: %v", err)
	}
	bad := *d
	bad.K = 0
	if _, err := Join(&bad, shards); !errors.Is(err, ErrBadDescriptor) {
		t.Fatalf("invalid descriptor: %v", err)
	}
}

// TestInconsistentDescriptor: a descriptor whose parity CIDs are not the
// parity of its data (a forged or buggy one) is caught when shards are
// rebuilt, instead of yielding wrong bytes.
func TestInconsistentDescriptor(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	d, shards := mustEncode(t, randBlob(r, 10000), Params{2, 2})
	forged := cloneShards(shards)
	forged[3][0] ^= 1
	fd := *d
	fd.Shards = append([]cid.Cid(nil), d.Shards...)
	fd.Shards[3] = ShardCID(forged[3])
	// Data shard 0 lost: rebuilt from 1 and the forged parity 3... only when
	// the decoder picks 3; with 1, 2 present it picks those. Drop 2 as well.
	in := [][]byte{nil, forged[1], nil, forged[3]}
	if _, err := Join(&fd, in); !errors.Is(err, ErrBadDescriptor) || !errors.Is(err, ErrShardMismatch) {
		t.Fatalf("Join: %v", err)
	}
	if _, err := JoinVerified(&fd, in, nil); !errors.Is(err, ErrBadDescriptor) || !errors.Is(err, ErrShardMismatch) {
		t.Fatalf("JoinVerified: %v", err)
	}
	if err := Reconstruct(&fd, in); !errors.Is(err, ErrBadDescriptor) {
		t.Fatalf("Reconstruct: %v", err)
	}
	if in[0] != nil || in[2] != nil {
		t.Fatal("failed Reconstruct filled entries")
	}
}

func TestVerifyShardErrors(t *testing.T) {
	d, shards := mustEncode(t, []byte("some bytes for a small stripe"), Params{3, 1})
	flipped := bytes.Clone(shards[1])
	flipped[0] ^= 0x80
	for _, tc := range []struct {
		name string
		i    int
		data []byte
		want string
	}{
		{"truncated", 1, shards[1][:len(shards[1])-1], "9 bytes, want 10"},
		{"flipped bit", 1, flipped, "content hashes to"},
		{"other shard", 1, shards[2], "content hashes to"},
		{"nil", 0, nil, "0 bytes, want 10"},
		{"index -1", -1, shards[0], "index out of range"},
		{"index 4", 4, shards[0], "index out of range"},
	} {
		err := d.VerifyShard(tc.i, tc.data)
		var se *ShardError
		if !errors.As(err, &se) || se.Index != tc.i || !errors.Is(err, ErrShardMismatch) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// TestShardCID: a shard's CID is CIDv1 raw with the MerkleSHA256 multihash
// of its Merkle root, the root an independent tree (naiveRoot) gives, and a
// flipped bit anywhere changes it.
func TestShardCID(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{0, 1, PieceSize - 1, PieceSize, PieceSize + 1, 5*PieceSize + 17} {
		b := randBlob(r, n)
		c := ShardCID(b)
		if want := cid.NewCidV1(cid.Raw, mustMerkleMH(t, b)); c != want {
			t.Fatalf("ShardCID(%d bytes) = %s, want %s", n, c, want)
		}
		if root, ok := rootOf(c); !ok || root != MerkleRoot(b) {
			t.Fatalf("rootOf(ShardCID(%d bytes)) = %x, %v", n, root, ok)
		}
		if !isShardCID(c) || len(c.Bytes()) != cidLen {
			t.Fatalf("ShardCID(%d bytes) = %x, not of the shard CID form", n, c.Bytes())
		}
		if n > 0 {
			flipped := bytes.Clone(b)
			flipped[r.IntN(n)] ^= 1 << r.IntN(8)
			if ShardCID(flipped) == c {
				t.Fatalf("a flipped bit in %d bytes kept the CID", n)
			}
		}
	}
}

// EncodeInto with a reused, dirty scratch gives what Encode gives, for
// sizes around the shard boundaries (small blobs whose last data shards
// lie wholly past the end included).
func TestEncodeIntoReusesScratch(t *testing.T) {
	p := Params{K: 4, M: 2}
	var scratch []byte
	for _, size := range []int{1, 2, 3, 4, 5, 7, 8, 9, 4095, 4096, 4097, 1 << 20, 1<<20 + 3} {
		blob := make([]byte, size)
		for i := range blob {
			blob[i] = byte(i*7 + size)
		}
		want, wantShards, err := Encode(blob, p, Secrets{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range scratch {
			scratch[i] = 0xff // what the last stripe left, and then some
		}
		d, shards, used, err := EncodeInto(blob, p, Secrets{}, scratch)
		if err != nil {
			t.Fatal(err)
		}
		if d.ID() != want.ID() {
			t.Fatalf("size %d: EncodeInto's stripe %v, Encode's %v", size, d.ID(), want.ID())
		}
		for i := range shards {
			if !bytes.Equal(shards[i], wantShards[i]) {
				t.Fatalf("size %d: shard %d differs", size, i)
			}
		}
		if len(used) <= cap(scratch) && len(used) > 0 && &used[0] != &scratch[:1][0] {
			t.Fatalf("size %d: a big enough scratch was not used", size)
		}
		if cap(used) > cap(scratch) {
			scratch = used[:cap(used)]
		}
	}
}
