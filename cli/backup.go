package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"respaldo/node/api"
)

func newBackupCommand(g *globals) *cobra.Command {
	var excludes, tags []string
	var stdinFrom, stdinName string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "backup PATH... (or --stdin-from CMD --stdin-name NAME)",
		Short: "Back up files and folders, or a command's output, through the running node",
		Long: `backup asks the running node to make a snapshot of PATH... (files and folders;
relative paths are taken from the current folder). The node chunks, deduplicates,
encrypts and spreads the data over the mesh; the snapshot lists every file.

With --stdin-from CMD the snapshot holds one file, NAME, with the output of CMD,
which runs here, as you, through the shell (a database dump, say). If CMD fails,
the backup fails and no snapshot is made.

On a terminal a progress bar shows files, bytes, rate and time left; elsewhere,
and with --json on stdout, each progress update is one JSON line. The last line
(with --json) is the result: {"snapshot_id", "files", "bytes", "new_bytes",
"duration_s", "tolerates_losses"}.

Files that cannot be read are skipped and listed on stderr; the snapshot has the
rest, and the exit code is 3.`,
		Example: `  respaldo backup ~/Documents ~/Pictures --exclude '*.tmp' --tag daily
  respaldo backup --stdin-from 'pg_dump mydb' --stdin-name mydb.sql --tag db
  respaldo backup /etc --json | tail -n 1`,
		RunE: func(cmd *cobra.Command, args []string) error {
			stdin := cmd.Flags().Changed("stdin-from")
			switch {
			case stdin && len(args) > 0:
				return errors.New("backup: give PATH... or --stdin-from CMD, not both")
			case stdin && strings.TrimSpace(stdinFrom) == "":
				return errors.New("backup: --stdin-from needs a command, e.g. --stdin-from 'pg_dump mydb'")
			case stdin && stdinName == "":
				return errors.New("backup: --stdin-from needs --stdin-name NAME, the file's name in the snapshot")
			case !stdin && cmd.Flags().Changed("stdin-name"):
				return errors.New("backup: --stdin-name goes with --stdin-from CMD")
			case !stdin && len(args) == 0:
				return errors.New("backup: nothing to back up: give PATH..., or --stdin-from CMD --stdin-name NAME")
			}
			if stdin {
				if err := checkPlainName(stdinName); err != nil {
					return err
				}
			}
			c, err := dial(g)
			if err != nil {
				return err
			}
			defer c.Close()
			return runBackup(cmd.Context(), g, c, api.BackupRequest{Paths: args, Excludes: excludes, Tags: tags},
				stdinFrom, stdinName, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&excludes, "exclude", nil, "leave out what matches this glob (repeatable), e.g. '*.tmp' or 'node_modules'")
	f.StringArrayVar(&tags, "tag", nil, "tag the snapshot (repeatable)")
	f.StringVar(&stdinFrom, "stdin-from", "", "back up the output of this shell command instead of paths")
	f.StringVar(&stdinName, "stdin-name", "", "the file name of --stdin-from's output in the snapshot (a plain name)")
	f.BoolVar(&asJSON, "json", false, "print progress and the result as JSON lines")
	return cmd
}

// checkPlainName refuses a --stdin-name that is not a plain file name.
func checkPlainName(n string) error {
	switch {
	case n == "." || n == ".." || strings.ContainsAny(n, `/\`):
		return fmt.Errorf("backup: --stdin-name %q must be a plain file name, without a slash", n)
	case strings.TrimSpace(n) != n || strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("backup: --stdin-name %q must be a plain file name, without control characters or surrounding spaces", n)
	}
	return nil
}

// runBackup sends req (with CMD's output when stdinFrom is set), shows the
// progress, prints the result and picks the exit code.
func runBackup(ctx context.Context, g *globals, c *api.Client, req api.BackupRequest, stdinFrom, stdinName string, asJSON bool) error {
	// CMD's error output and the progress may both go to stderr.
	errw := &lockedWriter{w: g.stderr}
	if stdinFrom != "" {
		src, err := startCommand(ctx, stdinFrom, g.stdin, errw)
		if err != nil {
			return err
		}
		defer src.stop()
		req.StdinName, req.Stdin = stdinName, src
	}
	var prog *backupProgress
	switch {
	case asJSON:
		prog = newProgress(g.stdout, progressLines)
	case isTerminal(g.stderr):
		prog = newProgress(errw, progressBar)
	default:
		prog = newProgress(errw, progressLines)
	}
	res, err := c.Backup(ctx, req, prog.updateAPI)
	prog.clear()
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			if req.StdinName != "" {
				return errors.New("backup: interrupted; its input was cut short, so it makes no snapshot")
			}
			return errors.New("backup: interrupted; the node finishes the backup on its own (see 'respaldo snapshots')")
		}
		return err
	}
	if asJSON {
		// One line, like the progress lines before it.
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		fmt.Fprintln(g.stdout, string(b))
	} else {
		printBackupResult(g.stdout, res)
	}
	if len(res.Skipped) > 0 {
		for _, s := range res.Skipped {
			fmt.Fprintf(errw, "skipped: %s: %s\n", s.Path, oneLineText(s.Error))
		}
		what := "files or folders could not be read and are"
		if len(res.Skipped) == 1 {
			what = "file or folder could not be read and is"
		}
		return &exitCodeError{code: ExitSkipped,
			msg: fmt.Sprintf("backup: %d %s not in snapshot %s (listed above)",
				len(res.Skipped), what, shortID(res.SnapshotID))}
	}
	return nil
}

func printBackupResult(w io.Writer, r api.BackupResult) {
	fmt.Fprintf(w, "snapshot %s: %d files, %s (%s new) in %.1fs\n",
		shortID(r.SnapshotID), r.Files, humanBytes(r.Bytes), humanBytes(r.NewBytes), r.Duration)
	fmt.Fprintln(w, toleratesText(r.ToleratesLosses))
}

// toleratesText says how many lost nodes the data survives.
func toleratesText(n int) string {
	switch {
	case n < 0:
		return "NOT READABLE now: some stripe has fewer shards than it needs (see 'respaldo check')"
	case n == 0:
		return "not yet safe against losing a node: too few peers hold its shards (see 'respaldo check')"
	case n == 1:
		return "survives the loss of any 1 node"
	default:
		return fmt.Sprintf("survives the loss of any %d nodes", n)
	}
}

// shortID is the head of a snapshot ID: enough to name it (ls, restore
// take a unique prefix).
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// oneLineText joins the lines of s with "; ".
func oneLineText(s string) string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	return strings.Join(f, "; ")
}

// lockedWriter serializes writes to w from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
