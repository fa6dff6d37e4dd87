package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"respaldo/node/api"
)

func newRestoreCommand(g *globals) *cobra.Command {
	var ks keySource
	var target string
	var includes []string
	var overwrite, asJSON bool
	cmd := &cobra.Command{
		Use:   "restore SNAP --target DIR",
		Short: "Restore a snapshot, or part of it, into a folder",
		Long: `restore writes snapshot SNAP (an ID, a unique prefix of one, or latest) into DIR,
fetching and decoding the shards from the mesh; it works while some nodes are
lost, as long as enough shards of each stripe remain. With --include GLOB it
restores only what matches (repeatable). DIR must be empty or new unless
--overwrite is given.

It needs the member's recovery key: --recovery-key-file F, or
RESPALDO_RECOVERY_KEY_FILE, or it asks on a terminal.`,
		Example: `  respaldo restore latest --target ~/restored
  respaldo restore 3f2a9c1b --target /tmp/r --include 'home/ana/Documents/*' --recovery-key-file ~/recovery-key.txt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if target == "" {
				return errors.New("restore: where to? give --target DIR")
			}
			abs, err := filepath.Abs(target)
			if err != nil {
				return fmt.Errorf("restore: --target %s: %w", target, err)
			}
			req := api.RestoreRequest{Snapshot: args[0], Target: abs, Include: includes, Overwrite: overwrite}
			c, err := dial(g)
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := withRecoveryKey(g, &ks, func(rk api.RecoveryKey) (api.RestoreResult, error) {
				req.RecoveryKey = rk
				return c.Restore(cmd.Context(), req)
			})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.stdout, res)
			}
			_, err = fmt.Fprintf(g.stdout, "restored %d files, %s into %s in %.1fs\n",
				res.Files, humanBytes(res.Bytes), abs, res.Duration)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "target", "", "the folder to restore into (required; relative to the current folder)")
	f.StringArrayVar(&includes, "include", nil, "restore only what matches this glob (repeatable)")
	f.BoolVar(&overwrite, "overwrite", false, "restore into a folder that is not empty, replacing files")
	f.BoolVar(&asJSON, "json", false, "print JSON: {files, bytes, duration_s}")
	ks.register(f)
	return cmd
}

func newCheckCommand(g *globals) *cobra.Command {
	var ks keySource
	var readData, asJSON bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check that this member's data is whole and spread out",
		Long: `check asks the holders of every shard of this member's stripes, now, whether they
still have it, and counts the stripes that are healthy (every shard there),
degraded (shards missing, still readable), at risk and lost, and those spread over
fewer peers than they should be (underplaced, in a small mesh). The last line says
how many nodes the weakest stripe can still lose.

With --read-data it also fetches every shard and verifies its content, which
needs the member's recovery key (--recovery-key-file F, or
RESPALDO_RECOVERY_KEY_FILE, or it asks on a terminal) and reads all the data.`,
		Example: `  respaldo check
  respaldo check --read-data --recovery-key-file ~/recovery-key.txt --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := dial(g)
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := withRecoveryKey(g, &ks, func(rk api.RecoveryKey) (api.CheckResult, error) {
				return c.Check(cmd.Context(), api.CheckRequest{ReadData: readData, RecoveryKey: rk})
			})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.stdout, res)
			}
			w := g.stdout
			fmt.Fprintf(w, "stripes   %d: %d healthy, %d degraded, %d at risk, %d lost; %d underplaced\n",
				res.Stripes, res.Healthy, res.Degraded, res.AtRisk, res.Lost, res.Underplaced)
			if readData {
				fmt.Fprintf(w, "read      %d errors\n", res.ReadErrors)
			}
			_, err = fmt.Fprintf(w, "safety    %s\n", toleratesText(res.ToleratesLosses))
			return err
		},
	}
	cmd.Flags().BoolVar(&readData, "read-data", false, "also fetch and verify every shard (needs the recovery key)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (keys as in CLI.md)")
	ks.register(cmd.Flags())
	return cmd
}

func newForgetCommand(g *globals) *cobra.Command {
	var ks keySource
	var req api.ForgetRequest
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "forget --keep-last N | --keep-daily N | --keep-weekly N [--prune]",
		Short: "Remove old snapshots by a keep policy",
		Long: `forget removes the member's snapshots that the policy does not keep: the last N
(--keep-last), the newest of each of the last N days (--keep-daily) and weeks
(--keep-weekly); a snapshot any rule keeps is kept. A policy must keep something.

With --prune it also deletes the data that no kept snapshot needs, which needs the
member's recovery key (--recovery-key-file F, or RESPALDO_RECOVERY_KEY_FILE, or it
asks on a terminal).`,
		Example: `  respaldo forget --keep-last 10 --keep-daily 7 --keep-weekly 8
  respaldo forget --keep-daily 30 --prune --recovery-key-file ~/recovery-key.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.KeepLast < 0 || req.KeepDaily < 0 || req.KeepWeekly < 0 {
				return errors.New("forget: --keep-last, --keep-daily and --keep-weekly cannot be negative")
			}
			if req.KeepLast+req.KeepDaily+req.KeepWeekly == 0 {
				return errors.New("forget: this policy keeps nothing; give at least one of --keep-last, --keep-daily, --keep-weekly above 0")
			}
			c, err := dial(g)
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := withRecoveryKey(g, &ks, func(rk api.RecoveryKey) (api.ForgetResult, error) {
				r := req
				r.RecoveryKey = rk
				return c.Forget(cmd.Context(), r)
			})
			if err != nil {
				return err
			}
			if res.Removed == nil {
				res.Removed = []string{}
			}
			if res.Kept == nil {
				res.Kept = []string{}
			}
			if asJSON {
				return printJSON(g.stdout, res)
			}
			w := g.stdout
			short := func(ids []string) string {
				s := make([]string, len(ids))
				for i, id := range ids {
					s[i] = shortID(id)
				}
				return strings.Join(s, " ")
			}
			fmt.Fprintf(w, "removed %d snapshots %s\n", len(res.Removed), short(res.Removed))
			fmt.Fprintf(w, "kept    %d snapshots %s\n", len(res.Kept), short(res.Kept))
			if !req.Prune && len(res.Removed) > 0 {
				fmt.Fprintln(w, "their data stays in the mesh until 'respaldo forget --prune'")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&req.KeepLast, "keep-last", 0, "keep the last N snapshots")
	f.IntVar(&req.KeepDaily, "keep-daily", 0, "keep the newest snapshot of each of the last N days")
	f.IntVar(&req.KeepWeekly, "keep-weekly", 0, "keep the newest snapshot of each of the last N weeks")
	f.BoolVar(&req.Prune, "prune", false, "also delete the data no kept snapshot needs (needs the recovery key)")
	f.BoolVar(&asJSON, "json", false, "print JSON: {removed: [ids], kept: [ids]}")
	ks.register(f)
	return cmd
}
