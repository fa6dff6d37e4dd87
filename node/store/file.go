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

// encodeHeader returns the (version 2) header of a shard file, padded to
// a multiple of fileAlign, in memory aligned to fileAlign.
func encodeHeader(desc []byte, index int) []byte {
	h := alignedBytes(headerLen(fileVersion, len(desc)))
	copy(h, fileMagic)
	binary.BigEndian.PutUint16(h[8:], fileVersion)
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
	if v := binary.BigEndian.Uint16(h[8:]); v != 1 && v != 2 {
		return 0, 0, 0, fmt.Errorf("%w: version %d", errBadHeader, v)
	}
	n := binary.BigEndian.Uint32(h[12:])
	if n > maxDescLen {
		return 0, 0, 0, fmt.Errorf("%w: descriptor length %d", errBadHeader, n)
	}
	return int(binary.BigEndian.Uint16(h[8:])), int(binary.BigEndian.Uint16(h[10:])), int(n), nil
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
// With direct set, header and data aligned (alignedBytes) and data large
// enough to matter, the aligned part bypasses the page cache (O_DIRECT, see
// direct_linux.go); only the last partial block of data is written through
// it. ok is false when the file system refused direct I/O: the file was
// then written through the page cache, and the caller should stop asking.
func writeFileAtomic(dir, name string, header, data []byte, direct bool) (ok bool, err error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return true, err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	ok = true
	if direct && len(data) >= minDirect && isAligned(header) && len(header)%fileAlign == 0 && isAligned(data) {
		ok, err = writeDirect(f, header, data)
	} else {
		_, err = f.WriteAt(header, 0)
		if err == nil {
			_, err = f.WriteAt(data, int64(len(header)))
		}
	}
	if err != nil {
		return ok, err
	}
	if err = f.Sync(); err != nil {
		return ok, err
	}
	if err = f.Close(); err != nil {
		return ok, err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return ok, err
	}
	return ok, syncDir(dir)
}

// writeDirect writes header and then data to the new, empty file f: the
// whole blocks with O_DIRECT, the rest through the page cache. When the file
// system refuses direct I/O (EINVAL) it writes everything through the page
// cache instead and returns ok false.
func writeDirect(f *os.File, header, data []byte) (ok bool, err error) {
	whole := len(data) &^ (fileAlign - 1)
	err = setDirect(f, true)
	if err == nil {
		_, err = f.WriteAt(header, 0)
		if err == nil {
			_, err = f.WriteAt(data[:whole], int64(len(header)))
		}
		if off := setDirect(f, false); err == nil {
			err = off
		}
	}
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		// Everything again through the page cache, over what was written.
		_, err = f.WriteAt(header, 0)
		if err == nil {
			_, err = f.WriteAt(data, int64(len(header)))
		}
		return false, err
	}
	if err != nil {
		return true, err
	}
	_, err = f.WriteAt(data[whole:], int64(len(header)+whole))
	return true, err
}
