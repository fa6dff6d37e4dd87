package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"respaldo/erasure"
)

// Shard file layout (see docs/format-store.md):
//
//	0  8  magic "RSPSHARD"
//	8  2  format version, big endian (2; 1 is still read)
//	10 2  shard index, big endian
//	12 4  descriptor length n, big endian
//	16 n  descriptor bytes (erasure.Descriptor.Marshal)
//	16+n  version 2: zero bytes up to the next multiple of fileAlign
//	H     shard bytes, to the end of the file (H = 16+n in version 1)
//
// Version 2 starts the shard bytes at a multiple of fileAlign so that a
// holder can write and read them with O_DIRECT (direct_linux.go).
const (
	fileMagic   = "RSPSHARD"
	fileVersion = 2
	headerFixed = 16
	maxDescLen  = 1 << 20
	tmpPrefix   = ".tmp-"
	shardSuffix = ".shard"
	// fileAlign is the alignment of the shard bytes in a version 2 file,
	// and of offsets, lengths and buffers in direct I/O: 4096 suits disks
	// of 512- and 4096-byte sectors.
	fileAlign = 4096
)

var errBadHeader = errors.New("bad shard file header")

// encodeHeader returns the header of a shard file of the given version;
// a version 2 header is padded to a multiple of fileAlign and sits at an
// aligned address (alignedBytes).
func encodeHeader(version int, desc []byte, index int) []byte {
	h := alignedBytes(headerLen(version, len(desc)))
	copy(h, fileMagic)
	binary.BigEndian.PutUint16(h[8:], uint16(version))
	binary.BigEndian.PutUint16(h[10:], uint16(index))
	binary.BigEndian.PutUint32(h[12:], uint32(len(desc)))
	copy(h[headerFixed:], desc)
	return h
}

// headerLen is the length of a header, padding included: where the shard
// bytes begin in a file of that version with a descriptor of n bytes.
func headerLen(version, n int) int {
	if version == 1 {
		return headerFixed + n
	}
	return roundUp(headerFixed+n, fileAlign)
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }

// parseFixed checks the fixed part of a header and returns the version,
// the index and the descriptor length.
func parseFixed(h []byte) (version, index, descLen int, err error) {
	if len(h) < headerFixed || string(h[:8]) != fileMagic {
		return 0, 0, 0, errBadHeader
	}
	v := binary.BigEndian.Uint16(h[8:])
	if v != 1 && v != 2 {
		return 0, 0, 0, fmt.Errorf("%w: version %d", errBadHeader, v)
	}
	n := binary.BigEndian.Uint32(h[12:])
	if n > maxDescLen {
		return 0, 0, 0, fmt.Errorf("%w: descriptor length %d", errBadHeader, n)
	}
	return int(v), int(binary.BigEndian.Uint16(h[10:])), int(n), nil
}

// errBadPadding is a version 2 header whose padding is not all zero.
var errBadPadding = fmt.Errorf("%w: padding not zero", errBadHeader)

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// splitFile splits a whole shard file into index, descriptor and shard bytes.
func splitFile(b []byte) (index int, desc, data []byte, err error) {
	v, index, n, err := parseFixed(b)
	if err != nil {
		return 0, nil, nil, err
	}
	h := headerLen(v, n)
	if len(b) < h {
		return 0, nil, nil, fmt.Errorf("%w: truncated", errBadHeader)
	}
	if !allZero(b[headerFixed+n : h]) {
		return 0, nil, nil, errBadPadding
	}
	return index, b[headerFixed : headerFixed+n], b[h:], nil
}

// readHeader reads the header at the start of a shard file; dataAt is
// where the shard bytes begin.
func readHeader(r io.Reader) (index int, desc []byte, dataAt int64, err error) {
	var fixed [headerFixed]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return 0, nil, 0, fmt.Errorf("%w: %w", errBadHeader, err)
	}
	v, index, n, err := parseFixed(fixed[:])
	if err != nil {
		return 0, nil, 0, err
	}
	h := headerLen(v, n)
	rest := make([]byte, h-headerFixed)
	if _, err := io.ReadFull(r, rest); err != nil {
		return 0, nil, 0, fmt.Errorf("%w: %w", errBadHeader, err)
	}
	if !allZero(rest[n:]) {
		return 0, nil, 0, errBadPadding
	}
	return index, rest[:n:n], int64(h), nil
}

// fanDir is the subdirectory of shards/ for a CID: the first byte of the
// CID's multihash digest in hex, 256 directories.
func fanDir(c cid.Cid) string {
	d, err := mh.Decode(c.Hash())
	if err != nil || len(d.Digest) == 0 {
		return "xx" // unreachable for valid CIDs
	}
	return fmt.Sprintf("%02x", d.Digest[0])
}

// fileName is the name of a shard's file: "<CID>-<stripe hex>-<index>.shard".
func fileName(c cid.Cid, ref ShardRef) string {
	return c.String() + "-" + ref.Stripe.String() + "-" + strconv.Itoa(ref.Index) + shardSuffix
}

// parseFileName is the inverse of fileName; it accepts only canonical names.
func parseFileName(name string) (cid.Cid, ShardRef, bool) {
	base, ok := strings.CutSuffix(name, shardSuffix)
	parts := strings.Split(base, "-")
	if !ok || len(parts) != 3 {
		return cid.Undef, ShardRef{}, false
	}
	c, err := cid.Decode(parts[0])
	if err != nil {
		return cid.Undef, ShardRef{}, false
	}
	id, err := erasure.ParseStripeID(parts[1])
	if err != nil {
		return cid.Undef, ShardRef{}, false
	}
	index, err := strconv.Atoi(parts[2])
	ref := ShardRef{Stripe: id, Index: index}
	if err != nil || index < 0 || index > 0xffff || fileName(c, ref) != name {
		return cid.Undef, ShardRef{}, false
	}
	return c, ref, true
}

// writeFileAtomic writes header and data to dir/name through a temporary file
// in dir that is fsynced, then renamed; then dir is fsynced. After a power
// cut the file is either whole or absent (only a temp file may be left).
//
// With direct set — for data that is directable and a version 2 header
// (encodeHeader: aligned, whole blocks), as put does — the whole blocks
// bypass the page cache (O_DIRECT, see direct_linux.go); only the last
// partial block of data goes through it.
// refused says the file system turned direct I/O down: the file was then
// written through the page cache, and the caller should stop asking.
func writeFileAtomic(dir, name string, header, data []byte, direct bool) (refused bool, err error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return false, err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if direct {
		refused, err = writeDirect(f, header, data)
	} else {
		err = writeBuffered(f, header, data)
	}
	if err != nil {
		return refused, err
	}
	if err = f.Sync(); err != nil {
		return refused, err
	}
	if err = f.Close(); err != nil {
		return refused, err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return refused, err
	}
	return refused, syncDir(dir)
}

// directable says whether a shard's bytes are written with direct I/O:
// large enough for the page cache's copy to matter, and aligned in memory.
func directable(data []byte) bool { return len(data) >= minDirect && isAligned(data) }

// refusal is how a file system turns direct I/O down (and how the kernel
// answers a transfer it cannot do directly).
func refusal(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported)
}

func writeBuffered(f *os.File, header, data []byte) error {
	if _, err := f.WriteAt(header, 0); err != nil {
		return err
	}
	_, err := f.WriteAt(data, int64(len(header)))
	return err
}

// writeDirect writes header and then data to the new, empty file f: the
// whole blocks with O_DIRECT, the rest through the page cache. When direct
// I/O fails with EINVAL it writes everything again through the page cache;
// refused is true when that happened at the first transfer, i.e. the file
// system does not take direct I/O at this alignment (a later EINVAL, after
// a short transfer, says nothing about the next file).
func writeDirect(f *os.File, header, data []byte) (refused bool, err error) {
	if err := setDirect(f, true); err != nil {
		if refusal(err) {
			return true, writeBuffered(f, header, data)
		}
		return false, err
	}
	whole := len(data) &^ (fileAlign - 1)
	_, err = f.WriteAt(header, 0)
	if refusal(err) {
		refused = true
	} else if err == nil {
		_, err = f.WriteAt(data[:whole], int64(len(header)))
	}
	if off := setDirect(f, false); off != nil {
		return refused, off // no safe way on with this file
	}
	if refusal(err) {
		return refused, writeBuffered(f, header, data)
	}
	if err != nil {
		return false, err
	}
	_, err = f.WriteAt(data[whole:], int64(len(header)+whole))
	return false, err
}
