package crypto

import "testing"

func BenchmarkSeal8MiB(b *testing.B) {
	m := member(b)
	p := randBytes(8<<20, 1)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Seal(p, m.Recipient()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen8MiB(b *testing.B) {
	m := member(b)
	p := randBytes(8<<20, 1)
	ct, err := Seal(p, m.Recipient())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Open(ct, m.Identity()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunkID1MiB(b *testing.B) {
	k := member(b).ChunkIDKey()
	p := randBytes(1<<20, 2)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		k.Sum(p)
	}
}

func BenchmarkMember(b *testing.B) {
	for b.Loop() {
		RecoveryKey{9}.Member()
	}
}

func BenchmarkNewStripeSecrets(b *testing.B) {
	w, _ := member(b).Write("laptop")
	for b.Loop() {
		if _, err := w.NewStripeSecrets(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRecoveryKey(b *testing.B) {
	s := RecoveryKey{9}.Reveal()
	for b.Loop() {
		if _, err := ParseRecoveryKey(s); err != nil {
			b.Fatal(err)
		}
	}
}
