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

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"respaldo/erasure"
)

// Shard file layout (see docs/format-store.md):
//
//	0  8  magic "RSPSHARD"
//	8  2  format version, big endian (1)
//	10 2  shard index, big endian
//	12 4  descriptor length n, big endian
//	16 n  descriptor bytes (erasure.Descriptor.Marshal)
//	16+n  shard bytes, to the end of the file
const (
	fileMagic   = "RSPSHARD"
	fileVersion = 1
	headerFixed = 16
	maxDescLen  = 1 << 20
	tmpPrefix   = ".tmp-"
	shardSuffix = ".shard"
)

var errBadHeader = errors.New("bad shard file header")

// encodeHeader returns the header of a shard file.
func encodeHeader(desc []byte, index int) []byte {
	h := make([]byte, headerFixed, headerFixed+len(desc))
	copy(h, fileMagic)
	binary.BigEndian.PutUint16(h[8:], fileVersion)
	binary.BigEndian.PutUint16(h[10:], uint16(index))
	binary.BigEndian.PutUint32(h[12:], uint32(len(desc)))
	return append(h, desc...)
}

// parseFixed checks the fixed part of a header and returns the index and the
// descriptor length.
func parseFixed(h []byte) (index, descLen int, err error) {
	if len(h) < headerFixed || string(h[:8]) != fileMagic {
		return 0, 0, errBadHeader
	}
	if v := binary.BigEndian.Uint16(h[8:]); v != fileVersion {
		return 0, 0, fmt.Errorf("%w: version %d", errBadHeader, v)
	}
	n := binary.BigEndian.Uint32(h[12:])
	if n > maxDescLen {
		return 0, 0, fmt.Errorf("%w: descriptor length %d", errBadHeader, n)
	}
	return int(binary.BigEndian.Uint16(h[10:])), int(n), nil
}

// splitFile splits a whole shard file into index, descriptor and shard bytes.
func splitFile(b []byte) (index int, desc, data []byte, err error) {
	index, n, err := parseFixed(b)
	if err != nil {
		return 0, nil, nil, err
	}
	if len(b) < headerFixed+n {
		return 0, nil, nil, fmt.Errorf("%w: truncated", errBadHeader)
	}
	return index, b[headerFixed : headerFixed+n], b[headerFixed+n:], nil
}

// readHeader reads the header at the start of a shard file.
func readHeader(r io.Reader) (index int, desc []byte, err error) {
	var fixed [headerFixed]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return 0, nil, fmt.Errorf("%w: %w", errBadHeader, err)
	}
	index, n, err := parseFixed(fixed[:])
	if err != nil {
		return 0, nil, err
	}
	desc = make([]byte, n)
	if _, err := io.ReadFull(r, desc); err != nil {
		return 0, nil, fmt.Errorf("%w: %w", errBadHeader, err)
	}
	return index, desc, nil
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
func writeFileAtomic(dir, name string, header, data []byte) (err error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(header); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}
