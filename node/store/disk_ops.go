package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
	"github.com/ipfs/go-cid"

	"respaldo/erasure"
)

func (s *DiskStore) fanPath(c cid.Cid) string {
	return filepath.Join(s.dir, "shards", fanDir(c))
}

func (s *DiskStore) path(c cid.Cid, ref ShardRef) string {
	return filepath.Join(s.fanPath(c), fileName(c, ref))
}

// fileSize returns the size of a file, -1 if it does not exist.
func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// entry loads a shard's index entry; ErrNotFound if absent.
func (s *DiskStore) entry(ref ShardRef) (entry, error) {
	var e entry
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(shardKey(ref))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) (err error) {
			e, err = parseEntry(v)
			return err
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return e, notFound(ref)
	}
	if err != nil {
		return e, fmt.Errorf("store: shard %v: index: %w", ref, err)
	}
	return e, nil
}

// Put implements Store.
func (s *DiskStore) Put(ctx context.Context, d *erasure.Descriptor, index int, data []byte) error {
	return s.put(ctx, d, index, data, false)
}

// putEncoded is Put for shards that erasure.Encode has just made from d in
// this process (LocalBlobs): they are not hashed a second time.
func (s *DiskStore) putEncoded(ctx context.Context, d *erasure.Descriptor, index int, data []byte) error {
	return s.put(ctx, d, index, data, true)
}

func (s *DiskStore) put(ctx context.Context, d *erasure.Descriptor, index int, data []byte, encoded bool) error {
	ref, err := checkPut(d, index, data, encoded)
	if err != nil {
		return err
	}
	leave, err := s.enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	lk := s.refLock(ref)
	lk.Lock()
	defer lk.Unlock()

	raw := d.Marshal()
	// Version 2 (aligned shard bytes) for a file written with direct I/O,
	// version 1 (no padding) for the rest.
	direct := s.direct.Load() && directable(data)
	version := 1
	if direct {
		version = 2
	}
	header := encodeHeader(version, raw, index)
	e := entry{Size: int64(len(data)), FileSize: int64(len(header) + len(data)), CID: d.Shards[index]}
	dir, name := s.fanPath(e.CID), fileName(e.CID, ref)
	old, err := s.entry(ref)
	indexed := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if indexed {
		size, err := fileSize(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("store: put %v: %w", ref, err)
		}
		if size == int64(headerLen(1, len(raw))+len(data)) || size == int64(headerLen(2, len(raw))+len(data)) {
			return nil // already held; damage inside the file is Scrub's business
		}
		// The file is missing or was cut or grown: write it again.
	}
	if err := s.reserve(ref, e.FileSize); err != nil {
		return err
	}
	err = os.MkdirAll(dir, 0o700)
	if err == nil {
		var refused bool
		refused, err = writeFileAtomic(dir, name, header, data, direct)
		if refused {
			s.noDirect("a write")
		}
	}
	if err == nil {
		err = s.db.Update(func(txn *badger.Txn) error {
			if err := txn.Set(descKey(ref.Stripe), raw); err != nil {
				return err
			}
			if err := txn.Set(shardKey(ref), e.marshal()); err != nil {
				return err
			}
			return txn.Set(cidKey(e.CID, ref), nil)
		})
		if err != nil && !indexed {
			// Keep files and index in step: without its entry the file goes.
			os.Remove(filepath.Join(dir, name))
		}
	}
	if err != nil {
		s.account(e.FileSize, 0, 0)
		return fmt.Errorf("store: put %v: %w", ref, err)
	}
	if indexed {
		s.account(e.FileSize, e.FileSize-old.FileSize, 0)
	} else {
		s.account(e.FileSize, e.FileSize, 1)
	}
	return nil
}

// Get implements Store.
func (s *DiskStore) Get(ctx context.Context, ref ShardRef) ([]byte, error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	return s.get(ref)
}

// getForJoin returns the shard's bytes after checking the file's header,
// descriptor and length but not the bytes' CID: the caller (LocalBlobs) hands them to
// erasure.Join, which checks every shard it uses against its CID.
func (s *DiskStore) getForJoin(ctx context.Context, ref ShardRef) ([]byte, error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	b, err := s.readShardFile(ref, nil)
	if err != nil {
		return nil, err
	}
	data, _, err := checkFile(ref, b)
	return data, err
}

func (s *DiskStore) get(ref ShardRef) ([]byte, error) {
	b, err := s.readShardFile(ref, nil)
	if err != nil {
		return nil, err
	}
	return verifyFile(ref, b)
}

// ReadLent implements Lender.
func (s *DiskStore) ReadLent(ctx context.Context, ref ShardRef) ([]byte, func(), error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer leave()
	var buf []byte
	if p, ok := s.reads.Get().(*[]byte); ok {
		buf = *p
	}
	b, err := s.readShardFile(ref, buf)
	if cap(b) > cap(buf) {
		buf = b // grown: keep the larger one
	}
	release := func() { s.reads.Put(&buf) }
	if err != nil {
		release()
		return nil, nil, err
	}
	data, _, err := checkFile(ref, b)
	if err != nil {
		release()
		return nil, nil, err
	}
	return data, release, nil
}

// readShardFile returns the whole file of an indexed shard, unchecked, in
// buf's storage when its capacity holds the file.
func (s *DiskStore) readShardFile(ref ShardRef, buf []byte) ([]byte, error) {
	e, err := s.entry(ref)
	if err != nil {
		return nil, err
	}
	b, err := s.readFile(s.path(e.CID, ref), buf)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: shard %v: file missing: %w", ref, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: shard %v: %w", ref, err)
	}
	return b, nil
}

// readFile is readFileInto with the store's choice of direct I/O, which it
// drops for good when the file system refuses it.
func (s *DiskStore) readFile(path string, buf []byte) ([]byte, error) {
	b, refused, err := readFileInto(path, buf, s.direct.Load())
	if refused {
		s.noDirect("a read")
	}
	return b, err
}

// readFileInto is os.ReadFile into buf's storage when its capacity holds
// the file (shard files are written once and renamed into place, so the
// size stat gives is the size read). With direct set the file is read with
// O_DIRECT, not through the page cache (a shard is read rarely, and a
// holder that cached all it serves would crowd out what its machine uses),
// into aligned storage (alignedBytes) that holds the file rounded up to
// fileAlign. When direct I/O fails with EINVAL the file is read again
// through the page cache; refused says that happened at the open or the
// first transfer, i.e. the file system turns direct I/O down.
func readFileInto(path string, buf []byte, direct bool) (b []byte, refused bool, err error) {
	flag := os.O_RDONLY
	if direct {
		flag |= openDirect
	}
	f, err := os.OpenFile(path, flag, 0)
	if direct && refusal(err) {
		b, _, err := readFileInto(path, buf, false)
		return b, true, err
	}
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	n := int(fi.Size())
	need := n
	if direct {
		need = roundUp(n, fileAlign)
	}
	if cap(buf) < need || (direct && !isAligned(buf[:0])) {
		buf = alignedBytes(need)
	}
	buf = buf[:need]
	got := 0
	for got < n {
		m, err := f.Read(buf[got:])
		if direct && refusal(err) {
			b, _, err := readFileInto(path, buf, false)
			return b, got == 0 && m == 0, err
		}
		got += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false, err
		}
	}
	if got < n {
		return nil, false, fmt.Errorf("file shrank while read: %w", io.ErrUnexpectedEOF)
	}
	return buf[:n], false, nil
}

// verifyFile checks a whole shard file read for ref and returns its shard
// bytes, hashed against their CID.
func verifyFile(ref ShardRef, b []byte) ([]byte, error) {
	data, d, err := checkFile(ref, b)
	if err != nil {
		return nil, err
	}
	if err := d.VerifyShard(ref.Index, data); err != nil {
		return nil, corrupt(ref, err)
	}
	return data, nil
}

// checkFile checks a shard file's header, its descriptor and the shard's
// length, and returns the shard bytes (not hashed) and the descriptor.
func checkFile(ref ShardRef, b []byte) ([]byte, *erasure.Descriptor, error) {
	index, raw, data, err := splitFile(b)
	if err != nil {
		return nil, nil, corrupt(ref, err)
	}
	if index != ref.Index {
		return nil, nil, corrupt(ref, fmt.Errorf("%w: index %d", errBadHeader, index))
	}
	d, err := erasure.OpenDescriptor(raw, ref.Stripe)
	if err != nil {
		return nil, nil, corrupt(ref, err)
	}
	if int64(len(data)) != d.ShardSize {
		return nil, nil, corrupt(ref, fmt.Errorf("%w: %d bytes, the descriptor says %d", erasure.ErrShardMismatch, len(data), d.ShardSize))
	}
	return data, d, nil
}

// GetByCID implements Store.
func (s *DiskStore) GetByCID(ctx context.Context, c cid.Cid) (ShardRef, []byte, error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return ShardRef{}, nil, err
	}
	defer leave()
	var refs []ShardRef
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: cidPrefix(c)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			ref, err := parseCIDKey(it.Item().Key())
			if err != nil {
				return err
			}
			refs = append(refs, ref)
		}
		return nil
	})
	if err != nil {
		return ShardRef{}, nil, fmt.Errorf("store: cid %v: index: %w", c, err)
	}
	err = fmt.Errorf("store: cid %v: %w", c, ErrNotFound)
	for i, ref := range refs {
		data, gerr := s.get(ref)
		if gerr == nil {
			return ref, data, nil
		}
		if i == 0 {
			err = gerr
		}
	}
	return ShardRef{}, nil, err
}

// Has implements Store: the shard is indexed and its file exists.
func (s *DiskStore) Has(ctx context.Context, ref ShardRef) (bool, error) {
	leave, err := s.enter(ctx)
	if err != nil {
		return false, err
	}
	defer leave()
	e, err := s.entry(ref)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = os.Stat(s.path(e.CID, ref))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
