package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"respaldo/node/api"
)

func newStatusCommand(g *globals) *cobra.Command {
	return queryCommand(g, "status", "Show this node's health and what it holds", (*api.Client).Status,
		func(w io.Writer, s api.Status) error {
			fmt.Fprintf(w, "node      %s (zone %s, %s)\n", s.PeerID, s.Zone, s.Version)
			fmt.Fprintf(w, "peers     %d online of %d\n", s.PeersOnline, s.PeersTotal)
			fmt.Fprintf(w, "shards    %d, %s used, %s free\n", s.Shards, humanBytes(s.UsedBytes), humanBytes(s.FreeBytes))
			_, err := fmt.Fprintf(w, "stripes   %d healthy, %d degraded, %d at risk, %d lost; repair queue %d; tolerates %d losses\n",
				s.Stripes.Healthy, s.Stripes.Degraded, s.Stripes.AtRisk, s.Stripes.Lost, s.RepairQueue, s.ToleratesLosses)
			return err
		})
}
