package node

import (
	"testing"

	"github.com/fxamacker/cbor/v2"

	"respaldo/crypto"
	"respaldo/dht"
	"respaldo/erasure"
	"respaldo/node/backup"
)

// A head opens only for its member, and only when the device named inside
// is the one whose key signed it.
func TestOpenHead(t *testing.T) {
	rk, err := crypto.GenerateRecoveryKey()
	if err != nil {
		t.Fatal(err)
	}
	mk := rk.Member()
	wk, err := rk.WriteKeys("phone")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := crypto.GenerateRecoveryKey()
	h := backup.Head{Device: "phone", Catalog: erasure.StripeID{1, 2, 3}, Seq: 7}
	seal := func(h backup.Head, to *crypto.WriteKeys) []byte {
		b, err := backup.HeadBytes(h)
		if err != nil {
			t.Fatal(err)
		}
		s, err := crypto.Seal(b, to.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sign := func(s crypto.HeadSigner, seq uint64, payload []byte) dht.HeadRecord {
		r, err := dht.SignHead(s, seq, payload)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	laptop, _ := rk.WriteKeys("laptop")
	owk, _ := other.WriteKeys("phone")
	for _, c := range []struct {
		name string
		rec  dht.HeadRecord
		ok   bool
	}{
		{"good", sign(wk.HeadSigner(), 7, seal(h, wk)), true},
		{"sequence differs from the one inside", sign(wk.HeadSigner(), 8, seal(h, wk)), false},
		{"signed by another device's key", sign(laptop.HeadSigner(), 7, seal(h, wk)), false},
		{"sealed to another member", sign(owk.HeadSigner(), 7, seal(h, owk)), false},
		{"payload not age", sign(wk.HeadSigner(), 7, []byte("not a head")), false},
	} {
		got, _, ok := openHead(mk, c.rec)
		if ok != c.ok || ok && got != h {
			t.Errorf("%s: openHead = %+v, %v; want ok %v", c.name, got, ok, c.ok)
		}
	}
}

// FuzzHeadsAnswer: any answer of the heads protocol decodes or fails,
// without panicking, and keeps only records with valid signatures.
func FuzzHeadsAnswer(f *testing.F) {
	rk, _ := crypto.GenerateRecoveryKey()
	wk, _ := rk.WriteKeys("d")
	rec, _ := dht.SignHead(wk.HeadSigner(), 1, []byte("x"))
	b, _ := rec.Marshal()
	good, _ := cbor.Marshal([][]byte{b, []byte("junk")})
	f.Add(good)
	f.Add([]byte{0x80})
	f.Add([]byte{0x9f, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := decodeHeadsAnswer(b)
		if err != nil {
			return
		}
		for _, r := range recs {
			if r.Verify() != nil {
				t.Fatal("kept a record with a bad signature")
			}
		}
	})
}
