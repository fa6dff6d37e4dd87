package backup

import "sync"

// Padding classes. Every blob plaintext (pack, snapshot, catalog) is padded
// with zeros, inside the encryption, up to the smallest size class that
// holds it, so the ciphertext size says only which class a blob is in.
// Classes grow geometrically from minClass: c(i+1) = c(i) + floor(c(i)*3/100),
// so two neighbouring classes are at most 3% apart and padding costs at most
// 3% (about 1.5% on average).
const (
	minClass     = 4 << 10
	classStepPct = 3
)

var (
	classesOnce sync.Once
	classes     []int // up to and past maxPlaintext
)

// maxPlaintext bounds any blob's plaintext: padded and sealed it must stay
// below erasure.MaxBlobSize (64 MiB) with age's overhead.
const maxPlaintext = 60 << 20

func buildClasses() {
	c := minClass
	for {
		classes = append(classes, c)
		if c > maxPlaintext {
			return
		}
		c += c * classStepPct / 100
	}
}

// padClass returns the smallest size class >= n, or n itself when n is
// beyond the largest class (callers refuse such blobs before).
func padClass(n int) int {
	classesOnce.Do(buildClasses)
	lo, hi := 0, len(classes)
	for lo < hi {
		m := (lo + hi) / 2
		if classes[m] < n {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(classes) {
		return n
	}
	return classes[lo]
}

// isClass reports whether n is exactly a size class.
func isClass(n int) bool { return n > 0 && padClass(n) == n && n <= classes[len(classes)-1] }
