package roster

import (
	"bytes"
	"crypto/sha256"
	"time"
)

// Version is the entry (and log) format version this package writes and
// reads.
const Version = 1

// Kind names what an entry does.
type Kind string

const (
	KindGenesis        Kind = "genesis"         // the mesh: first operators, pinned settings
	KindAdmit          Kind = "admit"           // a peer joins, or is renewed
	KindRevoke         Kind = "revoke"          // a peer is expelled, for good
	KindInvite         Kind = "invite"          // an issued invite, recorded (optional)
	KindWithdrawInvite Kind = "withdraw-invite" // a recorded invite, withdrawn before its expiry
	KindAddOperator    Kind = "add-operator"    // a key becomes an operator
	KindRemoveOperator Kind = "remove-operator" // a key stops being an operator
)

// Entry is one signed entry of the roster. Fields a kind does not use are
// zero; DecodeEntry and Log.Append refuse an entry where they are not.
//
// Entries returned by this package are copies: the caller may keep and
// modify them without affecting any Log.
type Entry struct {
	Version uint64
	Seq     uint64    // 0 for genesis, then +1 per entry
	Prev    Hash      // Hash of entry Seq-1; zero for genesis
	Kind    Kind      //
	Time    time.Time // when the signer made it (UTC, millisecond precision)

	Peer   PeerID    // admit, revoke
	Zone   Zone      // admit, invite
	Role   Role      // admit, invite
	Expiry time.Time // admit: end of membership (zero: none); invite: end of the token (required)
	Token  TokenHash // admit: token consumed (zero: none); invite: token issued; withdraw-invite: token withdrawn
	Reason string    // revoke (may be empty)

	Operator  OperatorPub   // add-operator, remove-operator
	Operators []OperatorPub // genesis: the first operators
	EC        string        // genesis: default erasure geometry, "k+m"

	Signer OperatorPub // who signed it: an operator at that point of the log
	Sig    Signature
}

// wireEntry is the CBOR form: a map with small integer keys, deterministic
// (core) encoding, absent for zero. The signature covers the encoding
// without key 15, prefixed by the domain (see keys.go).
type wireEntry struct {
	Version   uint64   `cbor:"0,keyasint"`
	Seq       uint64   `cbor:"1,keyasint,omitempty"`
	Prev      []byte   `cbor:"2,keyasint,omitempty"`
	Kind      string   `cbor:"3,keyasint"`
	Time      int64    `cbor:"4,keyasint"` // Unix milliseconds
	Peer      string   `cbor:"5,keyasint,omitempty"`
	Zone      string   `cbor:"6,keyasint,omitempty"`
	Role      string   `cbor:"7,keyasint,omitempty"`
	Expiry    int64    `cbor:"8,keyasint,omitempty"` // Unix milliseconds
	Token     []byte   `cbor:"9,keyasint,omitempty"`
	Reason    string   `cbor:"10,keyasint,omitempty"`
	Operator  []byte   `cbor:"11,keyasint,omitempty"`
	Operators [][]byte `cbor:"12,keyasint,omitempty"`
	EC        string   `cbor:"13,keyasint,omitempty"`
	Signer    []byte   `cbor:"14,keyasint"`
	Sig       []byte   `cbor:"15,keyasint,omitempty"`
}

// MaxEntrySize bounds an entry's encoding; DecodeEntry refuses more.
const MaxEntrySize = 4096

func opt(b []byte) []byte {
	if bytes.Equal(b, make([]byte, len(b))) {
		return nil
	}
	return b
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func (e *Entry) wire(withSig bool) wireEntry {
	w := wireEntry{
		Version:  e.Version,
		Seq:      e.Seq,
		Prev:     opt(e.Prev[:]),
		Kind:     string(e.Kind),
		Time:     millis(e.Time),
		Peer:     string(e.Peer),
		Zone:     string(e.Zone),
		Role:     string(e.Role),
		Expiry:   millis(e.Expiry),
		Token:    opt(e.Token[:]),
		Reason:   e.Reason,
		Operator: opt(e.Operator[:]),
		EC:       e.EC,
		Signer:   e.Signer[:],
	}
	for _, op := range e.Operators {
		w.Operators = append(w.Operators, op[:])
	}
	if withSig {
		w.Sig = e.Sig[:]
	}
	return w
}

func mustEncode(v any) []byte {
	b, err := encMode.Marshal(v)
	if err != nil {
		panic("roster: encoding: " + err.Error()) // plain structs always encode
	}
	return b
}

// Marshal returns the canonical encoding of e (signature included). It is
// deterministic: equal entries give equal bytes. Newly allocated.
func (e *Entry) Marshal() []byte {
	w := e.wire(true)
	return mustEncode(&w)
}

// Hash returns SHA-256 of e.Marshal(): what the next entry's Prev holds.
func (e *Entry) Hash() Hash { return sha256.Sum256(e.Marshal()) }

// signedBytes is what the signature covers, before the domain prefix.
func (e *Entry) signedBytes() []byte {
	w := e.wire(false)
	return mustEncode(&w)
}

func (e *Entry) clone() *Entry {
	c := *e
	c.Operators = append([]OperatorPub(nil), e.Operators...)
	return &c
}

// DecodeEntry reads one entry: canonical CBOR only (what decodes re-encodes
// to the same bytes), every field of the right shape for its kind, and a
// signature that verifies under Signer. Whether Signer is an operator, and
// whether the entry fits a log, is Log.Append's business. Errors wrap
// ErrBadEntry or ErrBadSignature.
func DecodeEntry(b []byte) (*Entry, error) {
	if len(b) > MaxEntrySize {
		return nil, badNof("entry of %d bytes exceeds %d", len(b), MaxEntrySize)
	}
	var w wireEntry
	if err := decEntry.Unmarshal(b, &w); err != nil {
		return nil, badNof("not a roster entry: %v", err)
	}
	e, err := fromWire(&w)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(e.Marshal(), b) {
		return nil, badf(e.Seq, "not in canonical form")
	}
	if err := e.check(); err != nil {
		return nil, err
	}
	if !e.Signer.verify(e.signedBytes(), e.Sig) {
		return nil, wrapf(ErrBadSignature, e.Seq, "%s entry signed by %s", e.Kind, e.Signer.Fingerprint())
	}
	return e, nil
}

func fixed(dst []byte, src []byte, optional bool) bool {
	if len(src) == 0 && optional {
		return true
	}
	return copy(dst, src) == len(dst) && len(src) == len(dst)
}

func fromWire(w *wireEntry) (*Entry, error) {
	e := &Entry{
		Version: w.Version, Seq: w.Seq, Kind: Kind(w.Kind),
		Time: fromMillis(w.Time), Expiry: fromMillis(w.Expiry),
		Peer: PeerID(w.Peer), Zone: Zone(w.Zone), Role: Role(w.Role),
		Reason: w.Reason, EC: w.EC,
	}
	ok := fixed(e.Prev[:], w.Prev, true) && fixed(e.Token[:], w.Token, true) &&
		fixed(e.Operator[:], w.Operator, true) && fixed(e.Signer[:], w.Signer, false) &&
		fixed(e.Sig[:], w.Sig, false)
	for _, b := range w.Operators {
		var op OperatorPub
		ok = ok && fixed(op[:], b, false)
		e.Operators = append(e.Operators, op)
	}
	if !ok {
		return nil, badf(w.Seq, "a hash, key or signature has the wrong length")
	}
	return e, nil
}
