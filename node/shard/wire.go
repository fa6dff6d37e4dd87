package shard

import (
	"bytes"
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"respaldo/erasure"
)

// ProtocolID is the libp2p protocol of shard transfers: one request per
// stream (docs/protocol-shard.md).
const ProtocolID = "/respaldo/shard/1.0.0"

const (
	wireVersion    = 1
	nonceSize      = 16
	sigSize        = 64
	maxMessage     = 256  // bytes of a response's detail line
	maxProofHashes = 16   // a shard has at most 1024 pieces: 10 hashes
	maxPieces      = 1024 // erasure.MaxBlobSize / erasure.PieceSize at k = 1
)

// Operations.
const (
	opPut    = "put"
	opGet    = "get"
	opHas    = "has"
	opDelete = "delete"
	opAudit  = "audit"
	opLocate = "locate"
)

// request is the header of a request. Keys are small integers; fields an
// operation does not use are absent (see validate).
type request struct {
	Version int        `cbor:"0,keyasint"`
	Op      string     `cbor:"1,keyasint"`
	Stripe  []byte     `cbor:"2,keyasint"` // 32 bytes
	Index   int        `cbor:"3,keyasint"`
	Desc    []byte     `cbor:"4,keyasint,omitempty"` // put (required), delete (optional)
	Size    int64      `cbor:"5,keyasint,omitempty"` // put: length of the shard bytes that follow
	Piece   int        `cbor:"6,keyasint,omitempty"` // audit
	Proof   *wireProof `cbor:"7,keyasint,omitempty"` // get (optional), delete (required)
	// Holders is the writer's placement of the stripe (a peer ID per shard
	// index, "" where none) on a put, optional; the holder keeps it as its
	// holder map of the stripe (HolderMap).
	Holders []string `cbor:"8,keyasint,omitempty"`
}

// wireProof is the requester's signature over the challenge (challenge.go).
type wireProof struct {
	Time  int64  `cbor:"0,keyasint"` // unix seconds
	Nonce []byte `cbor:"1,keyasint"` // 16 random bytes of the requester
	Sig   []byte `cbor:"2,keyasint"` // 64-byte Ed25519 signature
}

// response is the header of a response. Status is "ok" or an error code;
// an error response has only Version, Status and Message.
type response struct {
	Version int      `cbor:"0,keyasint"`
	Status  string   `cbor:"1,keyasint"`
	Message string   `cbor:"2,keyasint,omitempty"` // one line of detail
	Size    int64    `cbor:"3,keyasint,omitempty"` // get, audit: body length; has: shard size
	Held    bool     `cbor:"4,keyasint,omitempty"` // has
	Proof   [][]byte `cbor:"5,keyasint,omitempty"` // audit: sibling hashes, 32 bytes each
	Indexes []int    `cbor:"6,keyasint,omitempty"` // locate: shard indexes held, ascending
}

var (
	encMode = mustEnc()
	decMode = mustDec()
)

func mustEnc() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // static options
	}
	return em
}

func mustDec() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		MaxNestedLevels:   4,
		MaxArrayElements:  erasure.MaxShards, // locate's indexes; proofs are checked for ≤ 16
		MaxMapPairs:       16,
	}.DecMode()
	if err != nil {
		panic(err) // static options
	}
	return dm
}

func marshal(v any) []byte {
	b, err := encMode.Marshal(v)
	if err != nil {
		panic("shard: encoding a header cannot fail: " + err.Error())
	}
	return b
}

// decodeCanonical decodes one CBOR map into v and requires b to be exactly
// v's canonical encoding, so every header has one byte form.
func decodeCanonical(b []byte, v any) error {
	if len(b) == 0 || b[0]>>5 != 5 { // major type 5: map
		return fmt.Errorf("header is not a CBOR map")
	}
	if err := decMode.Unmarshal(b, v); err != nil {
		return fmt.Errorf("header: %v", err)
	}
	if !bytes.Equal(marshal(v), b) {
		return fmt.Errorf("header is not in canonical CBOR (a zero field present, or integers, lengths or key order not in shortest, sorted form)")
	}
	return nil
}

// decodeRequest parses and validates a request header. Errors are refusals
// with ErrBadRequest.
func decodeRequest(b []byte) (*request, error) {
	var r request
	if err := decodeCanonical(b, &r); err != nil {
		return nil, refuse(ErrBadRequest, err.Error())
	}
	if why := r.validate(); why != "" {
		return nil, refuse(ErrBadRequest, why)
	}
	return &r, nil
}

func (r *request) validate() string {
	if r.Version != wireVersion {
		return fmt.Sprintf("header version %d, this holder speaks %d", r.Version, wireVersion)
	}
	if len(r.Stripe) != len(erasure.StripeID{}) {
		return fmt.Sprintf("stripe ID of %d bytes, want 32", len(r.Stripe))
	}
	if r.Index < 0 || r.Index >= erasure.MaxShards {
		return fmt.Sprintf("shard index %d outside 0..%d", r.Index, erasure.MaxShards-1)
	}
	if r.Proof != nil && (len(r.Proof.Nonce) != nonceSize || len(r.Proof.Sig) != sigSize) {
		return fmt.Sprintf("proof with a %d-byte nonce and a %d-byte signature, want %d and %d", len(r.Proof.Nonce), len(r.Proof.Sig), nonceSize, sigSize)
	}
	if len(r.Desc) > erasure.MaxDescriptorSize {
		return fmt.Sprintf("descriptor of %d bytes, more than %d", len(r.Desc), erasure.MaxDescriptorSize)
	}
	if len(r.Holders) > erasure.MaxShards {
		return fmt.Sprintf("%d holders, more than %d shards", len(r.Holders), erasure.MaxShards)
	}
	for _, h := range r.Holders {
		if len(h) > maxPeerIDLen {
			return fmt.Sprintf("holder ID of %d bytes, more than %d", len(h), maxPeerIDLen)
		}
	}
	if r.Holders != nil && r.Op != opPut {
		return fmt.Sprintf("%s request with holders (only put carries them)", r.Op)
	}
	type fields struct{ desc, size, piece, proof bool }
	has := fields{r.Desc != nil, r.Size != 0, r.Piece != 0, r.Proof != nil}
	var allowed fields
	switch r.Op {
	case opPut:
		if r.Desc == nil {
			return "put without a descriptor"
		}
		if r.Size < 0 {
			return fmt.Sprintf("negative size %d", r.Size)
		}
		allowed = fields{desc: true, size: true}
	case opGet:
		allowed = fields{proof: true}
	case opHas:
	case opDelete:
		if r.Proof == nil {
			return "delete without a proof of the deletion secret"
		}
		allowed = fields{desc: true, proof: true}
	case opAudit:
		if r.Piece < 0 || r.Piece >= maxPieces {
			return fmt.Sprintf("piece %d outside 0..%d", r.Piece, maxPieces-1)
		}
		allowed = fields{piece: true}
	case opLocate:
		if r.Index != 0 {
			return "locate request with a shard index (it names the stripe only)"
		}
	default:
		return fmt.Sprintf("unknown operation %q", oneLine(r.Op, 32))
	}
	if (has.desc && !allowed.desc) || (has.size && !allowed.size) || (has.piece && !allowed.piece) || (has.proof && !allowed.proof) {
		return fmt.Sprintf("%s request with fields it does not use", r.Op)
	}
	return ""
}

// decodeResponse parses and validates a response header. Errors wrap
// ErrInternal: the holder broke the protocol.
func decodeResponse(b []byte) (*response, error) {
	var r response
	if err := decodeCanonical(b, &r); err != nil {
		return nil, refuse(ErrInternal, "malformed response: "+err.Error())
	}
	if why := r.validate(); why != "" {
		return nil, refuse(ErrInternal, "malformed response: "+why)
	}
	return &r, nil
}

func (r *response) validate() string {
	if r.Version != wireVersion {
		return fmt.Sprintf("header version %d, this client speaks %d", r.Version, wireVersion)
	}
	if r.Status == "" || !isOneLine(r.Status, 32) {
		return "bad status"
	}
	if !isOneLine(r.Message, maxMessage) {
		return "detail is not one line of at most 256 bytes"
	}
	if r.Status != codeOK && (r.Size != 0 || r.Held || r.Proof != nil || r.Indexes != nil) {
		return "error response with a body"
	}
	if r.Size < 0 || r.Size > erasure.MaxBlobSize {
		return fmt.Sprintf("size %d outside 0..%d", r.Size, erasure.MaxBlobSize)
	}
	if len(r.Proof) > maxProofHashes {
		return fmt.Sprintf("proof of %d hashes, at most %d", len(r.Proof), maxProofHashes)
	}
	for j, i := range r.Indexes {
		if i < 0 || i >= erasure.MaxShards {
			return fmt.Sprintf("held shard index %d outside 0..%d", i, erasure.MaxShards-1)
		}
		if j > 0 && i <= r.Indexes[j-1] {
			return "held shard indexes not strictly ascending"
		}
	}
	for _, h := range r.Proof {
		if len(h) != 32 {
			return fmt.Sprintf("proof hash of %d bytes, want 32", len(h))
		}
	}
	return ""
}

// err returns the error of a non-ok response.
func (r *response) err() error {
	code, msg := codeToError(r.Status), r.Message
	if code == nil {
		code, msg = ErrInternal, "unknown status "+r.Status+": "+msg
	}
	return refuse(code, "holder says: "+msg)
}
