package roster

import (
	"maps"
	"slices"
	"sync"
	"time"
)

// MaxClockSkew is how far an entry's time may lie before its predecessor's:
// operators' clocks disagree a little, but a log's times never run back.
const MaxClockSkew = 10 * time.Minute

// Log is a mesh's roster: a verified, hash-chained, append-only log of
// signed entries, with the membership it implies. Every method is safe for
// concurrent use (the connection gater reads while sync merges). A Log
// comes only from Genesis or Decode; the zero value is not usable.
//
// Validity is a pure function of the entries: no method that changes the
// log reads a clock, so every node reaches the same verdict on the same
// entries. Times passed as now only answer questions (expiry) and date the
// entries this node signs.
type Log struct {
	mu sync.RWMutex
	s  *state
}

// state is the log and everything it implies; Merge works on a copy.
type state struct {
	recs      []record
	ops       []OperatorPub // current operators, in order of addition
	members   map[PeerID]Member
	tokens    map[TokenHash]PeerID // consumed by an admit
	invites   map[TokenHash]Invitation
	withdrawn map[TokenHash]bool // withdrawn by a withdraw-invite entry
	revs      []Revocation
	maxTime   time.Time // latest entry time so far
	genesisEC string
}

type record struct {
	e    *Entry
	raw  []byte
	hash Hash
}

func (s *state) clone() *state {
	c := *s
	c.recs = slices.Clip(s.recs) // appends to the copy reallocate
	c.ops = slices.Clone(s.ops)
	c.members = maps.Clone(s.members)
	c.tokens = maps.Clone(s.tokens)
	c.invites = maps.Clone(s.invites)
	c.withdrawn = maps.Clone(s.withdrawn)
	c.revs = slices.Clip(s.revs)
	return &c
}

// Settings are what a mesh pins at creation.
type Settings struct {
	// EC is the default erasure geometry "k+m"; empty means DefaultEC.
	EC string
	// CoOperators are operator keys pinned at creation besides the
	// creator's (at most MaxOperators-1, distinct); may be empty.
	CoOperators []OperatorPub
}

// Genesis creates the roster of a new mesh, signed by op, which becomes its
// first operator (with s.CoOperators). Its MeshID is the hash of this entry.
// The creator's own node is not admitted by this: call Admit next.
func Genesis(op OperatorKey, s Settings, now time.Time) (*Log, error) {
	if op.isZero() {
		return nil, ErrNotOperator
	}
	ec := s.EC
	if ec == "" {
		ec = DefaultEC
	}
	e := &Entry{
		Version: Version, Kind: KindGenesis, Time: now, EC: ec,
		Operators: append([]OperatorPub{op.Public()}, s.CoOperators...),
	}
	signInto(op, e)
	return fromEntries([]*Entry{e})
}

func signInto(op OperatorKey, e *Entry) {
	e.Signer = op.Public()
	e.Sig = op.sign(e.signedBytes())
}

// canonical returns e as it decodes from its own encoding (times truncated
// to milliseconds and in UTC), with its bytes, after DecodeEntry's checks.
func canonical(e *Entry) (record, error) {
	raw := e.Marshal()
	c, err := DecodeEntry(raw)
	if err != nil {
		return record{}, err
	}
	if c.Expiry.IsZero() != e.Expiry.IsZero() { // an expiry within 1 ms of 1970 would vanish
		return record{}, badf(e.Seq, "%s entry: expiry out of range", e.Kind)
	}
	return record{e: c, raw: raw, hash: sha256Sum(raw)}, nil
}

func fromEntries(es []*Entry) (*Log, error) {
	if len(es) == 0 {
		return nil, badNof("a roster starts with a genesis entry")
	}
	r, err := canonical(es[0])
	if err != nil {
		return nil, err
	}
	if r.e.Kind != KindGenesis {
		return nil, badf(r.e.Seq, "a roster starts with a genesis entry, not %s", r.e.Kind)
	}
	s := &state{
		recs:      []record{r},
		ops:       slices.Clone(r.e.Operators),
		members:   map[PeerID]Member{},
		tokens:    map[TokenHash]PeerID{},
		invites:   map[TokenHash]Invitation{},
		withdrawn: map[TokenHash]bool{},
		maxTime:   r.e.Time,
		genesisEC: r.e.EC,
	}
	for _, e := range es[1:] {
		if err := s.append(e); err != nil {
			return nil, err
		}
	}
	return &Log{s: s}, nil
}

// Append verifies e against the log and adds it: canonical shape,
// seq = head+1 (else ErrBrokenChain), a valid signature (ErrBadSignature),
// prev = the head's hash (else a *ForkError), a signer that is a current
// operator (ErrNotOperator), a time no more than MaxClockSkew before the
// latest time in the log (ErrBadEntry), and the rules of its kind (see the kinds' builders).
// On error the log is unchanged. Append keeps a copy of e.
func (l *Log) Append(e *Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.append(e)
}

func (s *state) append(in *Entry) error {
	head := s.recs[len(s.recs)-1]
	if in.Seq != head.e.Seq+1 {
		return wrapf(ErrBrokenChain, in.Seq, "the log's head is seq %d", head.e.Seq)
	}
	r, err := canonical(in)
	if err != nil {
		return err
	}
	e := r.e
	if e.Prev != head.hash {
		return &ForkError{Seq: head.e.Seq, Ours: head.hash, Theirs: e.Prev}
	}
	if !slices.Contains(s.ops, e.Signer) {
		return wrapf(ErrNotOperator, e.Seq, "%s entry signed by %s", e.Kind, e.Signer.Fingerprint())
	}
	if e.Time.Before(s.maxTime.Add(-MaxClockSkew)) {
		return badf(e.Seq, "time %s is more than %s before an earlier entry's %s",
			e.Time.Format(time.RFC3339), MaxClockSkew, s.maxTime.Format(time.RFC3339))
	}
	if err := s.rules(e); err != nil {
		return err
	}
	s.apply(e)
	s.recs = append(s.recs, r)
	if e.Time.After(s.maxTime) {
		s.maxTime = e.Time
	}
	return nil
}
