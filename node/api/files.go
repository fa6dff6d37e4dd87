package api

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
)

// The files a running node keeps in its data directory. Both are written
// at each Start (a new token every time), atomically (a temp file renamed
// over), token first, so that a client that finds api.addr finds the token
// of the same start; Shutdown removes api.addr first, then api.token.
const (
	AddrFile  = "api.addr"  // host:port actually bound, and a newline
	TokenFile = "api.token" // 64 hex digits (32 random bytes), and a newline; mode 0600
)

// newToken returns 32 random bytes as hex.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// writeFileAtomic writes data to dir/name through a temp file in dir that
// is synced and renamed over the name, with mode perm.
func writeFileAtomic(dir, name string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	ok = true
	return nil
}

// removeIfOurs removes dir/name if it still holds data: a node started
// later in the same directory keeps its files.
func removeIfOurs(dir, name string, data []byte) error {
	p := filepath.Join(dir, name)
	got, err := os.ReadFile(p)
	if os.IsNotExist(err) || (err == nil && !bytes.Equal(got, data)) {
		return nil
	}
	if err != nil {
		return err
	}
	return os.Remove(p)
}
