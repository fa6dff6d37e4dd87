package crypto

// Known-answer vectors.
//
// ██ REGENERATING THESE VECTORS BREAKS EVERY EXISTING BACKUP. ██
//
// testdata/vectors.json and testdata/sealed.age freeze what a recovery key
// derives. If this test fails, a change made the same recovery key derive
// other keys, and backups made before the change can no longer be read,
// listed, pruned or even found. Do not "fix" the test with -update: undo
// the change, or make it a new versioned scheme ("v2" labels, rk2 keys)
// alongside the old one. -update is only for adding fields to the vectors.

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "regenerate testdata vectors (BREAKS OLD BACKUPS; read vectors_test.go)")

type vectors struct {
	Warning          string `json:"warning"`
	RecoveryKeyHex   string `json:"recovery_key_hex"`
	RecoveryKey      string `json:"recovery_key"`
	AgeIdentity      string `json:"age_identity"`
	AgeRecipient     string `json:"age_recipient"`
	ChunkIDKey       string `json:"chunk_id_key"`
	ChunkIDInput     string `json:"chunk_id_input"`
	ChunkID          string `json:"chunk_id"`
	ChunkerKey       string `json:"chunker_key"`
	MemberVerifier   string `json:"member_verifier"`
	MemberID         string `json:"member_id"`
	MemberSignature  string `json:"member_signature"`
	Device           string `json:"device"`
	HeadVerifier     string `json:"head_verifier"`
	SignedMessage    string `json:"signed_message"`
	HeadSignature    string `json:"head_signature"`
	DeleteRootPublic string `json:"delete_root_public"`
	ReadRootPublic   string `json:"read_root_public"`
	EphemeralScalar  string `json:"ephemeral_scalar"`
	StripeNonce      string `json:"stripe_nonce"`
	DeleteSecret     string `json:"delete_secret"`
	ReadSecret       string `json:"read_secret"`
	DeleteProofKey   string `json:"delete_proof_key"`
	ReadProofKey     string `json:"read_proof_key"`
	WriteKeysCBOR    string `json:"write_keys_cbor"`
	SealedPlaintext  string `json:"sealed_plaintext"`
}

const (
	vectorKeyHex    = "5e1d0c3b8f2a47969c0e7d13a4b25f6087e9c1d2f3a4b5c6d7e8f90112233445"
	vectorEphemeral = "a0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e9f"
	vectorsPath     = "testdata/vectors.json"
	sealedPath      = "testdata/sealed.age"
)

func computeVectors(t *testing.T) vectors {
	k := RecoveryKey(mustHex(t, vectorKeyHex))
	m := k.Member()
	w, err := m.Write("laptop")
	if err != nil {
		t.Fatal(err)
	}
	e, err := ecdh.X25519().NewPrivateKey(mustHex(t, vectorEphemeral))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := w.stripeSecrets(e)
	if err != nil {
		t.Fatal(err)
	}
	del, err := m.DeleteSecret(ss.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	read, err := m.ReadSecret(ss.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	if del.ProofKey() != ss.DeleteKey || read.ProofKey() != ss.ReadKey {
		t.Fatal("write and recovery sides disagree")
	}
	wb, err := w.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	const input = "respaldo chunk-id vector"
	const signed = "respaldo signature vector"
	idKey, chunker := m.ChunkIDKey(), m.ChunkerKey()
	return vectors{
		Warning:          "FROZEN: a recovery key must derive these values forever. Regenerating breaks every existing backup; see vectors_test.go.",
		RecoveryKeyHex:   vectorKeyHex,
		RecoveryKey:      k.Reveal(),
		AgeIdentity:      m.Identity().String(),
		AgeRecipient:     m.Recipient().String(),
		ChunkIDKey:       hex.EncodeToString(idKey[:]),
		ChunkIDInput:     input,
		ChunkID:          idKey.Sum([]byte(input)).String(),
		ChunkerKey:       hex.EncodeToString(chunker[:]),
		MemberVerifier:   m.MemberVerifier().String(),
		MemberID:         m.MemberID().String(),
		MemberSignature:  hex.EncodeToString(sigBytes(m.MemberSigner().Sign([]byte(signed)))),
		Device:           w.Device(),
		HeadVerifier:     w.HeadVerifier().String(),
		SignedMessage:    signed,
		HeadSignature:    hex.EncodeToString(sigBytes(w.HeadSigner().Sign([]byte(signed)))),
		DeleteRootPublic: hex.EncodeToString(w.deleteRoot[:]),
		ReadRootPublic:   hex.EncodeToString(w.readRoot[:]),
		EphemeralScalar:  vectorEphemeral,
		StripeNonce:      ss.Nonce.String(),
		DeleteSecret:     hex.EncodeToString(del[:]),
		ReadSecret:       hex.EncodeToString(read[:]),
		DeleteProofKey:   ss.DeleteKey.String(),
		ReadProofKey:     ss.ReadKey.String(),
		WriteKeysCBOR:    hex.EncodeToString(wb),
		SealedPlaintext:  "respaldo: a blob sealed in 2026 must open forever\n",
	}
}

func sigBytes(s Signature) []byte { return s[:] }

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKnownAnswerVectors(t *testing.T) {
	got := computeVectors(t)
	if *update {
		t.Log("REGENERATING KNOWN-ANSWER VECTORS: every backup made with the old ones becomes unreadable")
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(vectorsPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		m := RecoveryKey(mustHex(t, vectorKeyHex)).Member()
		ct, err := Seal([]byte(got.SealedPlaintext), m.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(sealedPath, ct, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var want vectors
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	gotJSON, _ := json.Marshal(got)
	var gotMap, wantMap map[string]string
	json.Unmarshal(gotJSON, &gotMap)
	json.Unmarshal(b, &wantMap)
	for field, w := range wantMap {
		if gotMap[field] != w {
			t.Errorf("%s: derived %.80q, frozen %.80q — THIS CHANGE BREAKS OLD BACKUPS", field, gotMap[field], w)
		}
	}
	for field := range gotMap {
		if _, ok := wantMap[field]; !ok {
			t.Errorf("%s is not in %s: add it with -update, checking that no other field changes", field, filepath.Base(vectorsPath))
		}
	}

	// The frozen recovery-key string parses to the frozen bytes.
	k, err := ParseRecoveryKey(want.RecoveryKey)
	if err != nil || hex.EncodeToString(k[:]) != want.RecoveryKeyHex {
		t.Errorf("frozen recovery key string: %v", err)
	}
	// The frozen write keys parse, and derive the frozen public values.
	w, err := ParseWriteKeys(mustHex(t, want.WriteKeysCBOR))
	if err != nil {
		t.Fatal(err)
	}
	if w.Recipient().String() != want.AgeRecipient || w.HeadVerifier().String() != want.HeadVerifier {
		t.Error("frozen write keys hold other keys")
	}
	// A blob sealed when the vectors were made still opens.
	ct, err := os.ReadFile(sealedPath)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := Open(ct, k.Member().Identity())
	if err != nil || !bytes.Equal(pt, []byte(want.SealedPlaintext)) {
		t.Errorf("frozen sealed blob: %q, %v", pt, err)
	}
}
