package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"respaldo/node/api"
)

func newPeersCommand(g *globals) *cobra.Command {
	return queryCommand(g, "peers", "List every other admitted node with its zone, role and health", (*api.Client).Peers,
		func(w io.Writer, ps []api.Peer) error {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
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
		})
}

// shortPeer keeps the tail of a peer ID, which is where they differ.
func shortPeer(id string) string {
	if len(id) <= 16 {
		return id
	}
	return "…" + id[len(id)-12:]
}
