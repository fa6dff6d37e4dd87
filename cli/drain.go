package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newDrainCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "drain",
		Short: "Move every shard this node holds to other peers, before taking it down",
		Long: `drain asks the running node to move every shard it holds to other storage peers:
each gets a new holder chosen as placement would, and the copy here is deleted only
once the new holder has stored it. From the moment it starts, the node offers no free
space, so nothing new is placed on it, until it is stopped (a restarted node offers
its space again).

It prints how many shards moved and how many remain; with shards remaining (no other
peer could take them) it exits 1: do not take the node down yet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := dial(g)
			if err != nil {
				return err
			}
			defer c.Close()
			if !asJSON {
				fmt.Fprintln(g.stderr, "draining: this node takes no new shards from now on; moving what it holds…")
			}
			res, err := c.Drain(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if err := printJSON(g.stdout, res); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(g.stdout, "moved %d shards; %d remain here\n", res.Moved, res.Remaining)
			}
			if res.Remaining > 0 {
				why := res.Why
				if why == "" {
					why = "no other peer could take them"
				}
				return fmt.Errorf("drain: %d shards remain on this node (%s); do not take it down yet, and run drain again once more storage is online", res.Remaining, why)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (keys as in CLI.md)")
	return cmd
}
