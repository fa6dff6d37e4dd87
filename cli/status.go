package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newStatusCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show this node's health and what it holds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := dial(g)
			if err != nil {
				return err
			}
			defer c.Close()
			s, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.stdout, s)
			}
			fmt.Fprintf(g.stdout, "node      %s (zone %s, %s)\n", s.PeerID, s.Zone, s.Version)
			fmt.Fprintf(g.stdout, "peers     %d online of %d\n", s.PeersOnline, s.PeersTotal)
			fmt.Fprintf(g.stdout, "shards    %d, %s used, %s free\n", s.Shards, humanBytes(s.UsedBytes), humanBytes(s.FreeBytes))
			fmt.Fprintf(g.stdout, "stripes   %d healthy, %d degraded, %d at risk, %d lost; repair queue %d\n",
				s.Stripes.Healthy, s.Stripes.Degraded, s.Stripes.AtRisk, s.Stripes.Lost, s.RepairQueue)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (keys as in CLI.md)")
	return cmd
}
