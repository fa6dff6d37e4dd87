package store

import "unsafe"

// minDirect is the smallest shard written with direct I/O: below it the
// copy through the page cache costs little.
const minDirect = 64 << 10

// AlignedBuffer returns a zeroed buffer of n bytes that a DiskStore can
// write to disk as it is, without copying it into the page cache: a holder
// receives a shard into one before it calls Put (shard.Handler does).
func AlignedBuffer(n int) []byte { return alignedBytes(n) }

// alignedBytes returns n zeroed bytes starting at a multiple of fileAlign
// in memory; the capacity may be larger.
func alignedBytes(n int) []byte {
	b := make([]byte, n+fileAlign)
	off := 0
	if r := int(uintptr(unsafe.Pointer(unsafe.SliceData(b))) & (fileAlign - 1)); r != 0 {
		off = fileAlign - r
	}
	return b[off : off+n]
}

// isAligned says whether b starts at a multiple of fileAlign in memory.
func isAligned(b []byte) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))&(fileAlign-1) == 0
}
