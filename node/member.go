package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"respaldo/crypto"
)

// ErrMemberExists: the data folder already holds a member's keys.
var ErrMemberExists = errors.New("node: this data folder already belongs to a member")

// SetupMember makes a new member for the node in dir: a fresh recovery key,
// of which only the write side (crypto.WriteKeys for device) is stored, in
// DIR/member.keys, mode 0600. The recovery key is returned to be shown once
// and is never written here (DESIGN.md, promise 8).
func SetupMember(dir, device string) (crypto.RecoveryKey, error) {
	rk, err := crypto.GenerateRecoveryKey()
	if err != nil {
		return crypto.RecoveryKey{}, err
	}
	return rk, AdoptMember(dir, rk, device)
}

// AdoptMember stores the write side of an existing member's keys (a
// recovery key typed in on a new device) in DIR/member.keys. The device
// name (a host name, say) gets the end of the node's peer ID when the node
// has one, so that two machines of a member with one host name, or a
// machine set up again, never share a device: their heads would compete
// for one DHT key (docs/heads.md).
func AdoptMember(dir string, rk crypto.RecoveryKey, device string) error {
	p := filepath.Join(dir, MemberKeysFile)
	if len(device) > 48 {
		device = strings.ToValidUTF8(device[:48], "")
	}
	if id, err := PeerIDOf(dir); err == nil {
		device += "-" + shortID(id)
	}
	wk, err := rk.WriteKeys(device)
	if err != nil {
		return err
	}
	b, err := wk.MarshalBinary()
	if err != nil {
		return err
	}
	err = writeFileExcl(p, b)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w (%s)", ErrMemberExists, p)
	}
	return err
}

// LoadMember reads the write side of the member's keys; an error wrapping
// fs.ErrNotExist when the node has none.
func LoadMember(dir string) (*crypto.WriteKeys, error) {
	b, err := os.ReadFile(filepath.Join(dir, MemberKeysFile))
	if err != nil {
		return nil, err
	}
	return crypto.ParseWriteKeys(b)
}
