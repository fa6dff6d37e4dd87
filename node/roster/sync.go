package roster

import "bytes"

// MaxLogEntries bounds the entries Decode accepts.
const MaxLogEntries = 1 << 20

// wireLog is the CBOR form of a whole log: the entries' canonical bytes.
type wireLog struct {
	Version uint64   `cbor:"0,keyasint"`
	Entries [][]byte `cbor:"1,keyasint"`
}

// Head returns the seq and hash of the last entry: what two nodes compare
// on every connection.
func (l *Log) Head() (seq uint64, hash Hash) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	r := l.s.recs[len(l.s.recs)-1]
	return r.e.Seq, r.hash
}

// HashAt returns the hash of entry seq, if the log has it. A node whose
// peer announces head (seq, h) is behind when HashAt(seq) is h and its own
// head is further; it has a fork when HashAt(seq) exists and differs.
func (l *Log) HashAt(seq uint64) (Hash, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if seq >= uint64(len(l.s.recs)) {
		return Hash{}, false
	}
	return l.s.recs[seq].hash, true
}

// MeshID returns the hash of the genesis entry.
func (l *Log) MeshID() MeshID {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return MeshID(l.s.recs[0].hash)
}

// Entries returns copies of all entries, genesis first.
func (l *Log) Entries() []*Entry {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]*Entry, len(l.s.recs))
	for i, r := range l.s.recs {
		out[i] = r.e.clone()
	}
	return out
}

// Since returns copies of the entries after seq (seq+1 to the head), to
// send to a peer whose head is seq; Since of the head or beyond is empty.
// Since(0) leaves out genesis; Entries has it.
func (l *Log) Since(seq uint64) []*Entry {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if seq >= uint64(len(l.s.recs))-1 {
		return nil
	}
	var out []*Entry
	for _, r := range l.s.recs[seq+1:] {
		out = append(out, r.e.clone())
	}
	return out
}

// Merge applies a peer's entries: they must be in seq order without gaps
// and may start anywhere at or before this log's head+1. Entries the log
// already holds must be identical: a different, validly signed one is a
// fork (a *ForkError naming both hashes), a badly signed one is
// ErrBadSignature. The rest are verified as Append does. Merge is all or nothing: on any
// error the log is unchanged.
func (l *Log) Merge(entries []*Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := l.s.clone()
	for i, e := range entries {
		if e == nil {
			return badNof("nil entry")
		}
		if i > 0 && e.Seq != entries[i-1].Seq+1 {
			return wrapf(ErrBrokenChain, e.Seq, "entries out of order: follows seq %d", entries[i-1].Seq)
		}
		if e.Seq < uint64(len(next.recs)) {
			ours := next.recs[e.Seq].hash
			if theirs := e.Hash(); theirs != ours {
				// A fork only if someone signed it; else it is garbage.
				if _, err := canonical(e); err != nil {
					return err
				}
				return &ForkError{Seq: e.Seq, Ours: ours, Theirs: theirs}
			}
			continue
		}
		if err := next.append(e); err != nil {
			return err
		}
	}
	l.s = next
	return nil
}

// Marshal returns the whole log (the entries' canonical bytes, in order),
// for a joining node or for disk. Decode reads it back.
func (l *Log) Marshal() []byte {
	l.mu.RLock()
	defer l.mu.RUnlock()
	w := wireLog{Version: Version}
	for _, r := range l.s.recs {
		w.Entries = append(w.Entries, r.raw)
	}
	return mustEncode(&w)
}

// Decode reads and verifies a whole log: canonical encoding, a genesis
// entry first, then every entry as Append checks it. A joining node must
// also check that MeshID is the one its invite names.
func Decode(b []byte) (*Log, error) {
	var w wireLog
	if err := decLog.Unmarshal(b, &w); err != nil {
		return nil, badNof("not a roster: %v", err)
	}
	if w.Version != Version {
		return nil, badNof("unknown roster version %d", w.Version)
	}
	if !bytes.Equal(mustEncode(&w), b) {
		return nil, badNof("roster not in canonical form")
	}
	es := make([]*Entry, len(w.Entries))
	for i, raw := range w.Entries {
		e, err := DecodeEntry(raw)
		if err != nil {
			return nil, err
		}
		es[i] = e
	}
	return fromEntries(es)
}
