package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newPeersCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "peers",
		Short: "List every other admitted node with its zone, role and health",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := dial(g)
			if err != nil {
				return err
			}
			defer c.Close()
			ps, err := c.Peers(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.stdout, ps)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PEER\tZONE\tROLE\tCONNECTED\tLAST SEEN\tAVAIL\tFREE\tSHARDS")
			for _, p := range ps {
				seen := "never"
				if !p.LastSeen.IsZero() {
					seen = time.Since(p.LastSeen).Round(time.Second).String() + " ago"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%.0f%%\t%s\t%d\n", shortPeer(p.ID), p.Zone, p.Role,
					p.Connected, seen, 100*p.Availability, humanBytes(p.FreeBytes), p.Shards)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (keys as in CLI.md)")
	return cmd
}

// shortPeer keeps the tail of a peer ID, which is where they differ.
func shortPeer(id string) string {
	if len(id) <= 16 {
		return id
	}
	return "…" + id[len(id)-12:]
}
