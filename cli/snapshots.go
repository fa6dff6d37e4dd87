package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"respaldo/node/api"
)

func newSnapshotsCommand(g *globals) *cobra.Command {
	var ks keySource
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "snapshots",
		Short: "List the member's snapshots, oldest first",
		Long: `snapshots lists the member's snapshots, oldest first: ID, time, host, paths and
tags. Without the recovery key it lists those this node wrote itself; with it
(--recovery-key-file F, or RESPALDO_RECOVERY_KEY_FILE), all of the member's, from
every device. A node set up with --keep-recovery-key lists all without it.

ls and restore take an ID, a unique prefix of one, or latest.`,
		Example: `  respaldo snapshots
  respaldo snapshots --recovery-key-file ~/recovery-key.txt --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := dial(g)
			if err != nil {
				return err
			}
			defer c.Close()
			rk, err := ks.load()
			if err != nil {
				return err
			}
			// Without a key the node answers what it wrote; it asks for none.
			snaps, err := c.Snapshots(cmd.Context(), api.SnapshotsRequest{RecoveryKey: rk})
			if err != nil {
				return err
			}
			if snaps == nil {
				snaps = []api.Snapshot{}
			}
			if asJSON {
				return printJSON(g.stdout, snaps)
			}
			if len(snaps) == 0 {
				if rk.IsZero() {
					fmt.Fprintln(g.stdout, "no snapshots written by this node (with --recovery-key-file, all of the member's)")
				} else {
					fmt.Fprintln(g.stdout, "no snapshots yet")
				}
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTIME\tHOST\tPATHS\tTAGS")
			for _, s := range snaps {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", shortID(s.ID), s.Time.Local().Format("2006-01-02 15:04:05"),
					s.Host, strings.Join(s.Paths, ", "), strings.Join(s.Tags, ","))
			}
			return tw.Flush()
		},
	}
	ks.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: [{id, time, host, paths, tags, files, bytes}]")
	return cmd
}

func newLsCommand(g *globals) *cobra.Command {
	var ks keySource
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls SNAP [PATH]",
		Short: "List the files of a snapshot",
		Long: `ls lists what snapshot SNAP holds (an ID, a unique prefix of one, or latest),
or only what is under PATH in it (a path as the snapshot shows it). It reads the
snapshot from the mesh, so it needs the member's recovery key: --recovery-key-file F,
or RESPALDO_RECOVERY_KEY_FILE, or it asks on a terminal.`,
		Example: `  respaldo ls latest
  respaldo ls 3f2a9c1b home/ana/Documents --recovery-key-file ~/recovery-key.txt
  respaldo ls latest --json`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := api.LsRequest{Snapshot: args[0]}
			if len(args) == 2 {
				req.Path = args[1]
			}
			c, err := dial(g)
			if err != nil {
				return err
			}
			defer c.Close()
			es, err := withRecoveryKey(g, &ks, func(rk api.RecoveryKey) ([]api.LsEntry, error) {
				req.RecoveryKey = rk
				return c.Ls(cmd.Context(), req)
			})
			if err != nil {
				return err
			}
			if es == nil {
				es = []api.LsEntry{}
			}
			if asJSON {
				return printJSON(g.stdout, es)
			}
			for _, e := range es {
				size := ""
				if e.Type == "file" {
					size = humanBytes(e.Size)
				}
				fmt.Fprintf(g.stdout, "%s  %10s  %s  %s\n", e.Mode, size, e.MTime.Local().Format("2006-01-02 15:04"), e.Path)
			}
			return nil
		},
	}
	ks.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON: [{path, type, size, mode, mtime}]")
	return cmd
}
