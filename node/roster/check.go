package roster

import (
	"slices"

	"github.com/fxamacker/cbor/v2"
)

// Records are CBOR with deterministic (core) encoding; decoding is strict
// (no duplicate or unknown keys, no indefinite lengths, no tags) and a
// decoded entry must re-encode to the very same bytes.
var (
	encMode  = mustEncMode()
	decEntry = mustDecMode(64)
	decLog   = mustDecMode(MaxLogEntries)
)

func mustEncMode() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // static options
	}
	return em
}

func mustDecMode(maxArray int) cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		MaxNestedLevels:   4,
		MaxArrayElements:  maxArray,
		MaxMapPairs:       16,
	}.DecMode()
	if err != nil {
		panic(err) // static options
	}
	return dm
}

// maxMillis is 9999-12-31T23:59:59.999Z: times beyond it are refused.
const maxMillis = 253402300799999

// check says whether e has the shape of its kind, on its own: the fields it
// needs are valid, the others zero. It does not look at the signature nor at
// any log.
func (e *Entry) check() error {
	bad := func(why string) error { return badf(e.Seq, "%s entry: %s", e.Kind, why) }
	if e.Version != Version {
		return badf(e.Seq, "unknown entry version %d", e.Version)
	}
	if ms := millis(e.Time); ms <= 0 || ms > maxMillis {
		return bad("time out of range")
	}
	if ms := millis(e.Expiry); ms < 0 || ms > maxMillis || (ms != 0 && ms <= millis(e.Time)) {
		return bad("expiry must be after the entry's time")
	}
	// Which optional fields the kind uses.
	var peer, zoneRole, expiry, token, reason, operator, genesis bool
	switch e.Kind {
	case KindGenesis:
		genesis = true
		if e.Seq != 0 || e.Prev != (Hash{}) {
			return bad("must be seq 0 with no prev")
		}
		if _, _, err := ParseEC(e.EC); err != nil {
			return bad("erasure geometry " + `"` + e.EC + `"` + " is not k+m")
		}
		if len(e.Operators) == 0 || len(e.Operators) > MaxOperators {
			return bad("needs 1 to 32 operators")
		}
		for i, op := range e.Operators {
			if op == (OperatorPub{}) || slices.Contains(e.Operators[:i], op) {
				return bad("operators must be distinct and non-zero")
			}
		}
		if !slices.Contains(e.Operators, e.Signer) {
			return bad("must be signed by one of its operators")
		}
	case KindAdmit:
		peer, zoneRole, expiry, token = true, true, true, true
	case KindRevoke:
		peer, reason = true, true
		if !printable(e.Reason, MaxReasonLen) {
			return bad("reason must be at most 256 bytes of printable UTF-8")
		}
	case KindInvite:
		zoneRole, expiry, token = true, true, true
		if e.Token == (TokenHash{}) || e.Expiry.IsZero() {
			return bad("needs a token hash and an expiry")
		}
	case KindWithdrawInvite:
		token = true
		if e.Token == (TokenHash{}) {
			return bad("needs a token hash")
		}
	case KindAddOperator, KindRemoveOperator:
		operator = true
		if e.Operator == (OperatorPub{}) {
			return bad("needs an operator key")
		}
	default:
		return badf(e.Seq, "unknown entry kind %q", e.Kind)
	}
	if e.Kind != KindGenesis && e.Seq == 0 {
		return bad("only genesis has seq 0")
	}
	switch {
	case peer && !validPeer(e.Peer):
		return bad("peer ID must be 1 to 128 bytes of printable ASCII without spaces")
	case zoneRole && !validZone(e.Zone):
		return bad("zone must be 1 to 64 bytes of printable UTF-8")
	case zoneRole && !validRole(e.Role):
		return bad(`role must be "storage" or "client"`)
	case !peer && e.Peer != "",
		!zoneRole && (e.Zone != "" || e.Role != ""),
		!expiry && !e.Expiry.IsZero(),
		!token && e.Token != (TokenHash{}),
		!reason && e.Reason != "",
		!operator && e.Operator != (OperatorPub{}),
		!genesis && (len(e.Operators) != 0 || e.EC != ""):
		return bad("has fields that do not belong to its kind")
	}
	return nil
}
