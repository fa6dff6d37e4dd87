package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"respaldo/node/api"
)

func newRosterCommand(g *globals) *cobra.Command {
	return queryCommand(g, "roster", "Show the mesh's membership log: who was admitted or revoked, and who signed it",
		(*api.Client).Roster,
		func(w io.Writer, es []api.RosterEntry) error {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tTIME\tKIND\tPEER\tZONE\tROLE\tEXPIRES\tSIGNED BY")
			for _, e := range es {
				expires := "-" // never, or not an admission
				if !e.Expiry.IsZero() {
					expires = e.Expiry.Local().Format("2006-01-02 15:04")
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.Local().Format("2006-01-02 15:04"),
					e.Kind, shortPeer(e.PeerID), e.Zone, e.Role, expires, e.SignedBy)
			}
			return tw.Flush()
		})
}
