package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"respaldo/crypto"
	"respaldo/node/api"
)

// envRecoveryKeyFile names the file of the member's recovery key when
// --recovery-key-file is not given (CLI.md "The recovery key").
const envRecoveryKeyFile = "RESPALDO_RECOVERY_KEY_FILE"

// The terminal, as the key prompt sees it; tests replace both.
var (
	// stdinIsTerminal reports whether the prompt may ask on r.
	stdinIsTerminal = func(r io.Reader) bool {
		f, ok := r.(*os.File)
		return ok && term.IsTerminal(int(f.Fd()))
	}
	// readSecret reads one line from the terminal r without echoing it.
	readSecret = func(r io.Reader) (string, error) {
		f, ok := r.(*os.File)
		if !ok {
			return "", errors.New("not a terminal")
		}
		b, err := term.ReadPassword(int(f.Fd()))
		return string(b), err
	}
)

// keySource is the --recovery-key-file flag of a command that reads or
// deletes the past.
type keySource struct{ file string }

func (k *keySource) register(fs *pflag.FlagSet) {
	fs.StringVar(&k.file, "recovery-key-file", "",
		"a file holding the member's recovery key (env "+envRecoveryKeyFile+"; else asked for on a terminal when needed)")
}

// load reads the key of --recovery-key-file, else of $RESPALDO_RECOVERY_KEY_FILE;
// the zero RecoveryKey when neither is given. Its errors name the file and
// the problem, never the key.
func (k *keySource) load() (api.RecoveryKey, error) {
	path, from := k.file, "--recovery-key-file"
	if path == "" {
		path, from = os.Getenv(envRecoveryKeyFile), envRecoveryKeyFile
	}
	if path == "" {
		return api.RecoveryKey{}, nil
	}
	b, err := readKeyFile(path)
	if err != nil {
		return api.RecoveryKey{}, fmt.Errorf("%s: %w", from, err)
	}
	rk, err := parseKeyText(b)
	if err != nil {
		return api.RecoveryKey{}, fmt.Errorf("%s %s: %w", from, path, err)
	}
	return rk, nil
}

// readKeyFile reads a key file, refusing one far too large to be a key
// (a wrong path, say) without reading all of it.
func readKeyFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10+1))
	if err != nil {
		return "", err
	}
	if len(b) > 64<<10 {
		return "", fmt.Errorf("%s: far too large to be a recovery key", path)
	}
	return string(b), nil
}

// parseKeyText reads a key as a file or a prompt holds it: lines starting
// with '#' are comments; the rest is the key, as crypto.ParseRecoveryKey
// reads it (case, spaces and dashes do not matter). Its errors never
// contain the key.
func parseKeyText(s string) (api.RecoveryKey, error) {
	var kept []string
	for l := range strings.Lines(s) {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			kept = append(kept, t)
		}
	}
	k, err := crypto.ParseRecoveryKey(strings.Join(kept, " "))
	if err != nil {
		return api.RecoveryKey{}, err
	}
	return api.NewRecoveryKey(k), nil
}

// withRecoveryKey calls do with the recovery key given (flag or
// environment), or with none. When none was given, the node answers
// needs-recovery-key and stdin is a terminal, it asks for the key once
// (without echo) and calls do again.
func withRecoveryKey[T any](g *globals, ks *keySource, do func(api.RecoveryKey) (T, error)) (T, error) {
	rk, err := ks.load()
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := do(rk)
	if err == nil || !rk.IsZero() || !errors.Is(err, api.ErrNeedsRecoveryKey) || !stdinIsTerminal(g.stdin) {
		return v, err
	}
	if rk, err = promptRecoveryKey(g); err != nil {
		var zero T
		return zero, err
	}
	return do(rk)
}

// promptRecoveryKey asks for the key on the terminal.
func promptRecoveryKey(g *globals) (api.RecoveryKey, error) {
	fmt.Fprint(g.stderr, "This needs the member's recovery key (rk1-…; it is not shown as you type).\nRecovery key: ")
	s, err := readSecret(g.stdin)
	fmt.Fprintln(g.stderr)
	if err != nil {
		return api.RecoveryKey{}, fmt.Errorf("reading the recovery key: %w", err)
	}
	rk, err := parseKeyText(s)
	if err != nil {
		return api.RecoveryKey{}, fmt.Errorf("the recovery key typed: %w", err)
	}
	return rk, nil
}
