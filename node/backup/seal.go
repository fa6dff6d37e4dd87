package backup

import (
	"context"
	"encoding/binary"
	"fmt"

	"filippo.io/age"

	"respaldo/crypto"
	"respaldo/erasure"
)

// Record blobs (snapshot, catalog) have the plaintext
//
//	magic (4 bytes) | u32 length L (little-endian) | CBOR (L bytes) | zeros
//
// padded to a size class, then sealed with age.
const (
	snapshotMagic = "rsn1"
	catalogMagic  = "rct1"
)

// padRecord frames payload and pads it to a class.
func padRecord(magic string, payload []byte) []byte {
	n := 8 + len(payload)
	p := make([]byte, 0, padClass(n))
	p = append(p, magic...)
	p = binary.LittleEndian.AppendUint32(p, uint32(len(payload)))
	p = append(p, payload...)
	return appendZeros(p, padClass(n)-n)
}

// unpadRecord returns the payload of a padded record. It never panics.
func unpadRecord(magic string, p []byte) ([]byte, error) {
	if len(p) < 8 || string(p[:4]) != magic {
		return nil, corruptf("record: not a %q record", magic)
	}
	n := uint64(binary.LittleEndian.Uint32(p[4:8]))
	if n > uint64(len(p)-8) {
		return nil, corruptf("record: length %d beyond %d bytes", n, len(p)-8)
	}
	return p[8 : 8+n], nil
}

// sealedSize estimates the ciphertext size of n bytes of plaintext: age's
// header (a hybrid post-quantum stanza is about 1.6 KiB) plus 16 bytes per
// 64 KiB chunk.
func sealedSize(n int) int { return n + (n>>16+1)*16 + 4<<10 }

// putRecord pads, seals and stores a record blob.
func putRecord(ctx context.Context, store BlobStore, w *crypto.WriteKeys, magic string, v any) (erasure.StripeID, int, error) {
	payload, err := marshal(v)
	if err != nil {
		return erasure.StripeID{}, 0, err
	}
	p := padRecord(magic, payload)
	if len(p) > maxPlaintext {
		return erasure.StripeID{}, 0, fmt.Errorf("backup: %q record of %d bytes is too large", magic, len(p))
	}
	blob, err := crypto.Seal(p, writeRecipient(w))
	if err != nil {
		return erasure.StripeID{}, 0, err
	}
	s, err := newSecrets(w)
	if err != nil {
		return erasure.StripeID{}, 0, err
	}
	id, err := store.Put(ctx, blob, s)
	if err != nil {
		return erasure.StripeID{}, 0, fmt.Errorf("backup: store %q record: %w", magic, err)
	}
	return id, len(blob), nil
}

// getBlob fetches and opens a blob. Errors wrap crypto.ErrWrongKey or
// crypto.ErrTampered when decryption fails.
func getBlob(ctx context.Context, store BlobStore, id age.Identity, sid erasure.StripeID, what string) ([]byte, error) {
	return getBlobInto(ctx, store, id, sid, what, nil)
}

// BlobGetterInto is a BlobStore that can rebuild a blob in a buffer the
// caller lends (meshblobs.Blobs): GetInto is Get using buf's storage when
// its capacity is enough, and keeps no reference to buf once it returns.
type BlobGetterInto interface {
	GetInto(ctx context.Context, id erasure.StripeID, buf []byte) ([]byte, error)
}

// getBlobInto is getBlob fetching into a buffer from spare when the store
// can (BlobGetterInto); the blob is decrypted in place (crypto.OpenInPlace),
// so the plaintext lies in that buffer, which the caller gives back to
// spare when done. With a nil spare it is getBlob.
func getBlobInto(ctx context.Context, store BlobStore, id age.Identity, sid erasure.StripeID, what string, spare *bufList) ([]byte, error) {
	var blob []byte
	var err error
	if gi, ok := store.(BlobGetterInto); ok && spare != nil {
		blob, err = gi.GetInto(ctx, sid, spare.get())
	} else {
		blob, err = store.Get(ctx, sid)
	}
	if err != nil {
		return nil, fmt.Errorf("backup: fetch %s %v: %w", what, sid, err)
	}
	p, err := crypto.OpenInPlace(blob, id) // the blob is ours either way
	if err != nil {
		spare.put(blob)
		return nil, fmt.Errorf("backup: open %s %v: %w", what, sid, err)
	}
	return p, nil
}
