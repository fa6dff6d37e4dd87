package meshblobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"respaldo/erasure"
	"respaldo/node/mesh"
	"respaldo/node/shard"
)

// The put journal: a put that a crash cuts off is finished, not sent again.
//
// PutJournaled writes the blob, its descriptor and the caller's note to
// DIR/<stripe>.put before it sends any shard, and appends "index holder"
// to DIR/<stripe>.acks after each holder's acknowledgement. Once every
// shard is placed it calls the caller's done (the backup writer records
// the pack there) and removes both files. ResumePuts, after a restart,
// sends only the shards no holder acknowledged and then calls done with
// the note.
//
// Nothing is fsynced: the files live a few seconds, usually only in the
// page cache, so the journal costs a memory copy. A finished entry's file
// is not deleted but renamed to one of a few spare names (spare-0 …,
// journalSpares of them), and the next entry is written over a spare:
// overwriting pages the page cache holds costs less than filling new ones
// (with a new file per pack the journal cost 0.5 s of CPU per GiB backed
// up on the project's virtual machines, docs/performance.md). A
// spare holds an old pack's ciphertext, like the holders, until the node
// drops the spares at the end of the backup (DropSpares). A killed process leaves
// them in the page cache, which survives it; a power cut may lose or tear
// them, and then the pack is sent again as before the journal existed (a
// torn .put file is caught: the blob must encode to the stripe ID in its
// name). The blob is age ciphertext, as on every holder: the journal
// reveals no more than the holders' stores.

const (
	journalPut   = ".put"
	journalAcks  = ".acks"
	journalTmp   = ".tmp"
	journalMagic = "respaldo-put-journal-2\n"
	journalSpare = "spare-"
	// journalSpares is how many spare files a journal folder keeps: one
	// more than a backup's default uploads at once.
	journalSpares = 4
)

// spareNames lends the spare names of one journal folder (spareSets) to
// one writer at a time: a writer renames its spare to an entry's .put
// name, and retiring an entry renames it to a free spare name.
type spareNames struct {
	mu   sync.Mutex
	free []int
}

var spareSets sync.Map // journal folder → *spareNames

func sparesOf(dir string) *spareNames {
	if v, ok := spareSets.Load(dir); ok {
		return v.(*spareNames)
	}
	s := &spareNames{}
	for i := journalSpares - 1; i >= 0; i-- {
		s.free = append(s.free, i)
	}
	v, _ := spareSets.LoadOrStore(dir, s)
	return v.(*spareNames)
}

// take lends a spare name's path, or "" when all are lent.
func (s *spareNames) take(dir string) (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.free)
	if n == 0 {
		return "", -1
	}
	i := s.free[n-1]
	s.free = s.free[:n-1]
	return filepath.Join(dir, journalSpare+strconv.Itoa(i)), i
}

func (s *spareNames) give(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.free = append(s.free, i)
}

// PutJournaled is Put that keeps the blob in Config.Journal until it is
// placed and done has returned nil, so that ResumePuts can finish it after
// a crash. done gets the stripe ID after every shard was acknowledged; an
// error from done is returned and the journal entry is kept. Without a
// journal folder it is Put followed by done.
func (b *Blobs) PutJournaled(ctx context.Context, blob []byte, s erasure.Secrets, note []byte, done func(erasure.StripeID) error) (erasure.StripeID, error) {
	dir := b.cfg.Journal
	if dir == "" {
		id, err := b.Put(ctx, blob, s)
		if err == nil {
			err = done(id)
		}
		return id, err
	}
	d, shards, release, err := encode(blob, b.cfg.Params, s)
	if err != nil {
		return erasure.StripeID{}, fmt.Errorf("meshblobs: put: %w", err)
	}
	defer release()
	id := d.ID()
	base := filepath.Join(dir, id.String())
	if err := writeJournal(base, d, note, blob); err != nil {
		// The journal only saves work after a crash: a put goes on
		// without it.
		b.log().Warn("meshblobs: put journal not written", "stripe", id, "err", err)
		base = ""
	}
	var acks *os.File
	if base != "" {
		if acks, err = os.OpenFile(base+journalAcks, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
			b.log().Warn("meshblobs: put journal not written", "stripe", id, "err", err)
		} else {
			defer acks.Close()
		}
	}
	if err := b.putShards(ctx, d, shards, nil, ackWriter(acks)); err != nil {
		return erasure.StripeID{}, err
	}
	b.stats.blobBytesPut.Add(int64(len(blob)))
	if err := done(id); err != nil {
		return id, err
	}
	if base != "" {
		retireJournal(base)
	}
	return id, nil
}

// ResumePuts finishes every put the journal holds: it sends the shards no
// holder acknowledged (the others stay where they are), calls done with
// the stripe ID and the note, and removes the entry. An entry whose blob
// does not match its name (torn by a power cut) is removed unsent. It
// returns the number of stripes finished and the shard bytes it did not
// have to send again. A put that fails stays in the journal for the next
// call, and the first such error is returned after the others were tried.
func (b *Blobs) ResumePuts(ctx context.Context, done func(erasure.StripeID, []byte) error) (finished int, saved int64, err error) {
	dir := b.cfg.Journal
	if dir == "" {
		return 0, 0, nil
	}
	ents, rerr := os.ReadDir(dir)
	if errors.Is(rerr, fs.ErrNotExist) {
		return 0, 0, nil
	} else if rerr != nil {
		return 0, 0, fmt.Errorf("meshblobs: put journal: %w", rerr)
	}
	var errs []error
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, journalTmp) {
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		if !strings.HasSuffix(name, journalPut) {
			continue
		}
		id, perr := erasure.ParseStripeID(strings.TrimSuffix(name, journalPut))
		if perr != nil {
			continue // not ours
		}
		base := filepath.Join(dir, id.String())
		n, err := b.resumeOne(ctx, id, base, done)
		if err != nil {
			errs = append(errs, fmt.Errorf("meshblobs: resume put of stripe %v: %w", id, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if n >= 0 {
			finished++
			saved += n
		}
	}
	// Acks files without their put file: a finished entry half removed.
	for _, e := range ents {
		if name := e.Name(); strings.HasSuffix(name, journalAcks) {
			if _, err := os.Stat(filepath.Join(dir, strings.TrimSuffix(name, journalAcks)+journalPut)); errors.Is(err, fs.ErrNotExist) {
				_ = os.Remove(filepath.Join(dir, name))
			}
		}
	}
	return finished, saved, errors.Join(errs...)
}

// Journaled lists the stripes in the put journal in dir: puts a crash cut
// off, which the next backup finishes. A prune must keep them.
func Journaled(dir string) ([]erasure.StripeID, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("meshblobs: put journal: %w", err)
	}
	var out []erasure.StripeID
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), journalPut); ok {
			if id, err := erasure.ParseStripeID(name); err == nil {
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// resumeOne finishes one journaled put; -1 for an entry dropped unsent.
func (b *Blobs) resumeOne(ctx context.Context, id erasure.StripeID, base string, done func(erasure.StripeID, []byte) error) (int64, error) {
	d, note, blob, shards, err := readJournal(base, id)
	if err != nil {
		b.log().Warn("meshblobs: dropping a torn put journal entry", "stripe", id, "err", err)
		removeJournal(base)
		return -1, nil
	}
	pinned := readAcks(base+journalAcks, d.Params().Total(), b.self)
	var saved int64
	for _, h := range pinned {
		if h != "" {
			saved += d.ShardSize
		}
	}
	acks, err := os.OpenFile(base+journalAcks, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer acks.Close()
	if err := b.putShards(ctx, d, shards, pinned, ackWriter(acks)); err != nil {
		if errors.Is(err, shard.ErrDeleted) {
			// The owner deleted the stripe meanwhile (a prune that did
			// not see the journal): its chunks go into new packs.
			b.log().Warn("meshblobs: a journaled stripe was deleted; dropping it", "stripe", id)
			removeJournal(base)
			return -1, nil
		}
		return 0, err
	}
	b.stats.blobBytesPut.Add(int64(len(blob)))
	if err := done(id, note); err != nil {
		return 0, err
	}
	retireJournal(base)
	return saved, nil
}

func ackWriter(f *os.File) func(int, mesh.PeerID) {
	if f == nil {
		return nil
	}
	return func(i int, h mesh.PeerID) {
		// One write per line: O_APPEND keeps concurrent lines whole.
		_, _ = f.Write([]byte(strconv.Itoa(i) + " " + string(h) + "\n"))
	}
}

// readAcks returns the holder of each acknowledged shard ("" for none).
// Lines that do not parse (a torn last line) are skipped: that shard is
// sent again. A shard acknowledged twice (a replaced holder) keeps the
// last holder.
func readAcks(path string, n int, self mesh.PeerID) []mesh.PeerID {
	pinned := make([]mesh.PeerID, n)
	b, err := os.ReadFile(path)
	if err != nil {
		return pinned
	}
	for _, line := range strings.Split(string(b), "\n") {
		idx, h, ok := strings.Cut(line, " ")
		i, err := strconv.Atoi(idx)
		if !ok || err != nil || i < 0 || i >= n || h == "" || mesh.PeerID(h) == self {
			continue
		}
		pinned[i] = mesh.PeerID(h)
	}
	return pinned
}

// writeJournal writes base.put: magic, descriptor, note and blob, each
// but the last behind its length, and the note's SHA-256 after the note;
// under another name first (a spare, over its old contents, or
// base.put.tmp), so that a .put file is whole unless a power cut tore it.
// A torn file, or one where a power cut kept a spare's older bytes, is
// caught by readJournal: the blob must encode to the stripe ID in the
// name, the descriptor hash to it, the note match its hash.
func writeJournal(base string, d *erasure.Descriptor, note, blob []byte) error {
	dir := filepath.Dir(base)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	desc := d.Marshal()
	var hdr bytes.Buffer
	hdr.WriteString(journalMagic)
	hdr.Write(binary.AppendUvarint(nil, uint64(len(desc))))
	hdr.Write(desc)
	hdr.Write(binary.AppendUvarint(nil, uint64(len(note))))
	hdr.Write(note)
	sum := sha256.Sum256(note) // the blob and descriptor are checked against the name
	hdr.Write(sum[:])
	spares := sparesOf(dir)
	tmp, i := spares.take(dir)
	if tmp == "" {
		tmp = base + journalPut + journalTmp
	} else {
		defer spares.give(i) // renamed away below, or removed
	}
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(hdr.Bytes())
	if err == nil {
		_, err = f.Write(blob)
	}
	if err == nil {
		err = f.Truncate(int64(hdr.Len() + len(blob))) // a longer spare's tail
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, base+journalPut)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// DropSpares removes the spare files of the journal folder dir that no
// writer is using. A node calls it when a backup ends, so that no sent
// pack's ciphertext outlives the backup that sent it.
func DropSpares(dir string) {
	s := sparesOf(dir)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range s.free {
		_ = os.Remove(filepath.Join(dir, journalSpare+strconv.Itoa(i)))
	}
}

// retireJournal ends a finished entry: its .put file becomes a spare (or
// goes when every spare name is lent), its acks file goes.
func retireJournal(base string) {
	dir := filepath.Dir(base)
	spares := sparesOf(dir)
	if spare, i := spares.take(dir); spare != "" {
		err := os.Rename(base+journalPut, spare)
		spares.give(i)
		if err == nil {
			_ = os.Remove(base + journalAcks)
			return
		}
	}
	removeJournal(base)
}

// readJournal reads base.put and encodes the blob, which must give id.
func readJournal(base string, id erasure.StripeID) (d *erasure.Descriptor, note, blob []byte, shards [][]byte, err error) {
	b, err := os.ReadFile(base + journalPut)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if !bytes.HasPrefix(b, []byte(journalMagic)) {
		return nil, nil, nil, nil, errors.New("not a put journal file")
	}
	r := bytes.NewReader(b[len(journalMagic):])
	field := func() ([]byte, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil || n > erasure.MaxBlobSize {
			return nil, errors.New("bad length")
		}
		v := make([]byte, n)
		if _, err := io.ReadFull(r, v); err != nil {
			return nil, err
		}
		return v, nil
	}
	desc, err := field()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if d, err = erasure.OpenDescriptor(desc, id); err != nil {
		return nil, nil, nil, nil, err
	}
	if note, err = field(); err != nil {
		return nil, nil, nil, nil, err
	}
	var sum [sha256.Size]byte
	if _, err := io.ReadFull(r, sum[:]); err != nil {
		return nil, nil, nil, nil, err
	}
	if sum != sha256.Sum256(note) {
		// A power cut kept older bytes of the file (a spare's) here.
		return nil, nil, nil, nil, errors.New("the note does not match its hash")
	}
	blob = b[len(b)-r.Len():]
	if int64(len(blob)) != d.Size {
		return nil, nil, nil, nil, fmt.Errorf("blob of %d bytes, the descriptor says %d", len(blob), d.Size)
	}
	d2, shards, err := erasure.Encode(blob, d.Params(), d.Secrets)
	if err != nil || d2.ID() != id {
		return nil, nil, nil, nil, errors.New("the blob does not encode to the stripe")
	}
	return d, note, blob, shards, nil
}

func removeJournal(base string) {
	_ = os.Remove(base + journalPut)
	_ = os.Remove(base + journalAcks)
}
