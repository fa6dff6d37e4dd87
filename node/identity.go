package node

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/node/roster"
)

// Files and directories of a data dir; see docs/daemon.md.
const (
	ConfigFile   = "config.toml"  // Config, TOML
	IdentityFile = "identity.key" // libp2p Ed25519 private key (protobuf), 0600
	OperatorFile = "operator.key" // operator key seed, hex, 0600; only on operator nodes
	StoreDir     = "store"        // node/store DiskStore: shards/, db/
	// MemberKeysFile will hold crypto.WriteKeys.MarshalBinary (0600) once
	// members are set up on nodes (join, mesh create); nothing writes it yet.
	MemberKeysFile = "member.keys"
)

// LoadOrCreateIdentity returns the node's libp2p key from DIR/identity.key,
// creating it (Ed25519, mode 0600) the first time. The file is created with
// O_EXCL, so two racing callers cannot end with two identities.
func LoadOrCreateIdentity(dir string) (p2pcrypto.PrivKey, error) {
	path := filepath.Join(dir, IdentityFile)
	if k, err := loadIdentity(path); !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("node: identity: %w", err)
	}
	k, _, err := p2pcrypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("node: identity: %w", err)
	}
	b, err := p2pcrypto.MarshalPrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("node: identity: %w", err)
	}
	if err := writeFileExcl(path, b); err != nil {
		if errors.Is(err, os.ErrExist) {
			return loadIdentity(path)
		}
		return nil, fmt.Errorf("node: identity: %w", err)
	}
	return k, nil
}

func loadIdentity(path string) (p2pcrypto.PrivKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := p2pcrypto.UnmarshalPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("node: identity %s: %w", path, err)
	}
	return k, nil
}

// PeerIDOf returns the peer ID of the identity in dir, creating it if need be.
func PeerIDOf(dir string) (peer.ID, error) {
	k, err := LoadOrCreateIdentity(dir)
	if err != nil {
		return "", err
	}
	return peer.IDFromPrivateKey(k)
}

// SaveOperatorKey writes op to DIR/operator.key (hex of its seed, 0600). It
// refuses to overwrite an existing key.
func SaveOperatorKey(dir string, op roster.OperatorKey) error {
	seed := op.Seed()
	if err := writeFileExcl(filepath.Join(dir, OperatorFile), []byte(hex.EncodeToString(seed[:])+"\n")); err != nil {
		return fmt.Errorf("node: operator key: %w", err)
	}
	return nil
}

// LoadOperatorKey reads DIR/operator.key; the error matches os.ErrNotExist
// on a node that holds no operator key.
func LoadOperatorKey(dir string) (roster.OperatorKey, error) {
	b, err := os.ReadFile(filepath.Join(dir, OperatorFile))
	if err != nil {
		return roster.OperatorKey{}, fmt.Errorf("node: operator key: %w", err)
	}
	return ParseOperatorKey(string(b))
}

// ParseOperatorKey reads an operator key file's contents (64 hex digits of
// the Ed25519 seed), as given with --operator-key.
func ParseOperatorKey(s string) (roster.OperatorKey, error) {
	seed, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(seed) != 32 {
		return roster.OperatorKey{}, fmt.Errorf("node: operator key: not 64 hex digits (an %s file)", OperatorFile)
	}
	return roster.OperatorKeyFromSeed([32]byte(seed)), nil
}

// writeFileExcl creates path (0600) with b, failing if it exists, and syncs it.
func writeFileExcl(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// writeFileAtomic replaces path with b through a synced temp file.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
