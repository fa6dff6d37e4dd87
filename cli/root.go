// Package cli holds respaldo's cobra commands. Client commands reach a
// running node only through node/api's client; `mesh create`, `join`, `node`
// and `demo` start or set up a node themselves.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"respaldo/node"
)

// Exit codes of the command-line contract (CLI.md).
const (
	ExitOK      = 0
	ExitError   = 1 // an error the user can act on, printed as one line
	ExitSkipped = 3 // a backup finished but skipped unreadable files
)

// globals are the flags every command takes.
type globals struct {
	dataDir string
	stdout  io.Writer
	stderr  io.Writer
	stdin   io.Reader
}

// Main runs the command line and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	node.ApplyMemoryLimit(0)
	g := &globals{stdout: stdout, stderr: stderr, stdin: stdin}
	root := newRootCommand(g)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if ec.msg != "" {
			fmt.Fprintln(stderr, "respaldo:", ec.msg)
		}
		return ec.code
	}
	fmt.Fprintln(stderr, "respaldo:", oneLine(err))
	return ExitError
}

func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "respaldo",
		Short: "A peer-to-peer storage mesh for backups that survive lost and seized machines",
		Long: `respaldo backs up files through the local node: it chunks, compresses and
age-encrypts them, Reed-Solomon-codes the ciphertext and spreads the shards over
distinct peers, so that losing or seizing any single machine loses nothing and
reveals nothing.

Start with 'respaldo demo', which runs a whole backup and restore on this machine.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.dataDir, "data", defaultDataDir(),
		"the node's data folder (env RESPALDO_DATA)")
	root.AddCommand(newDemoCommand(g))
	root.AddCommand(newMeshCommand(g))
	root.AddCommand(newNodeCommand(g))
	root.AddCommand(newInviteCommand(g))
	root.AddCommand(newJoinCommand(g))
	root.AddCommand(newBackupCommand(g))
	root.AddCommand(newSnapshotsCommand(g))
	root.AddCommand(newLsCommand(g))
	root.AddCommand(newRestoreCommand(g))
	root.AddCommand(newCheckCommand(g))
	root.AddCommand(newForgetCommand(g))
	root.AddCommand(newStatusCommand(g))
	root.AddCommand(newPeersCommand(g))
	root.AddCommand(newRosterCommand(g))
	root.AddCommand(newRevokeCommand(g))
	root.AddCommand(newRenewCommand(g))
	root.AddCommand(newOperatorCommand(g))
	root.AddCommand(newDrainCommand(g))
	root.AddCommand(newVersionCommand(g))
	return root
}

// defaultDataDir follows CLI.md: RESPALDO_DATA, else $XDG_DATA_HOME/respaldo,
// else ~/.local/share/respaldo.
func defaultDataDir() string {
	if d := os.Getenv("RESPALDO_DATA"); d != "" {
		return d
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "respaldo")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "respaldo")
	}
	return "respaldo-data"
}

// exitCodeError carries a specific exit code out of a command.
type exitCodeError struct {
	code int
	msg  string
}

func (e *exitCodeError) Error() string { return e.msg }

// oneLine keeps an error to the single line the contract promises.
func oneLine(err error) string {
	s := err.Error()
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
