package store

import (
	"errors"
	"os"

	"github.com/dgraph-io/badger/v4"

	"respaldo/erasure"
)

// DamageShard flips one bit in the middle of a held shard's bytes, behind
// the store's back (storetest.Damager).
func (m *MemStore) DamageShard(ref ShardRef) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.shards[ref]
	if !ok || len(data) == 0 {
		return errors.New("no such shard, or an empty one")
	}
	data[len(data)/2] ^= 0x10
	return nil
}

// DamageShard flips one bit in the middle of a held shard's bytes in its
// file (storetest.Damager).
func (s *DiskStore) DamageShard(ref ShardRef) error {
	path, err := s.ShardPath(ref)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	_, _, data, err := splitFile(b)
	if err != nil {
		return err
	}
	hdr := len(b) - len(data)
	if len(b) == hdr {
		return errors.New("empty shard")
	}
	b[hdr+(len(b)-hdr)/2] ^= 0x10
	return os.WriteFile(path, b, 0o600)
}

// ShardPath returns the file of a held shard.
func (s *DiskStore) ShardPath(ref ShardRef) (string, error) {
	e, err := s.entry(ref)
	if err != nil {
		return "", err
	}
	return s.path(e.CID, ref), nil
}

// HeaderLen is the length of a shard file's header, padding included, for
// a descriptor of n bytes.
func HeaderLen(n int) int { return headerLen(fileVersion, n) }

// Direct says whether the store still uses direct I/O.
func (s *DiskStore) Direct() bool { return s.direct.Load() }

// DropDescriptorEntry deletes a stripe's d/ key, as a damaged index might.
func (s *DiskStore) DropDescriptorEntry(id erasure.StripeID) error {
	return s.db.Update(func(txn *badger.Txn) error { return txn.Delete(descKey(id)) })
}
