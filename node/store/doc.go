// Package store is a node's shard store: the shards of stripes it holds for
// the mesh, their descriptors, and the node's other records.
//
// Two implementations share the Store contract and the conformance suite in
// node/store/storetest:
//
//   - DiskStore (Open) keeps every shard as a plain file under DIR/shards,
//     fanned out by the first byte of the CID's digest, written to a temp
//     name, fsynced, renamed and the directory fsynced, so that after a power
//     cut a shard is whole or absent. Each file begins with a header carrying
//     the stripe's descriptor and the shard index, so the index can always be
//     rebuilt from the files (Open does so when DIR/db is missing; Rebuild on
//     demand). A badger database in DIR/db holds descriptors, the ref→file
//     index and the generic Records; shard bytes never go into badger (32-bit
//     boards cannot map large value logs). The files are the truth: Open
//     removes temp files, drops index entries whose file is gone and adopts
//     files the index lacks.
//   - MemStore keeps everything in memory, for tests.
//
// Every shard is checked against its CID on Put, on every Get and by Scrub;
// damage is reported as ErrCorrupt (wrapping the erasure error), a missing
// shard as ErrNotFound, and damaged bytes are never returned. Space is
// accounted on Put: a Put that would exceed the configured capacity or the
// filesystem's free space fails with ErrNoSpace before anything is written,
// and Delete frees the space at once.
//
// LocalBlobs turns a Store into a blob store (erasure-code on Put, rebuild
// from any k intact shards on Get) for a node without network.
//
// The on-disk format is described in docs/format-store.md.
package store
