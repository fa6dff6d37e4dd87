package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"respaldo/node/api"
)

func newRevokeCommand(g *globals) *cobra.Command {
	var reason, opKey string
	var force, asJSON bool
	cmd := &cobra.Command{
		Use:   "revoke PEER_ID",
		Short: "Expel a node from the mesh for good (a seized or stolen machine)",
		Long: `revoke appends a revocation of PEER_ID to the roster, signed with the operator key,
and spreads it to every node. Every node then closes its connections to that peer at
once and refuses it from then on, however it reconnects; the stripes it held shards
of are rebuilt on other nodes at once, without waiting for the repair grace.
Revocation is final for that peer ID (docs/seizure.md).

The running node must hold an operator key, or pass one with --operator-key FILE.
Revoking more than m storage nodes (m of the mesh's k+m) within 24 hours needs
--force, so that a mistake or a stolen operator key cannot set off a mesh-wide
repair storm quietly.`,
		Example: `  respaldo revoke 12D3KooWRa4… --reason "seized at the Calle Mayor squat"
  respaldo revoke 12D3KooWRa4… --operator-key /media/usb/operator.key`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := api.RevokeRequest{PeerID: args[0], Reason: reason, Force: force}
			var err error
			if req.OperatorKey, err = operatorKey(opKey); err != nil {
				return err
			}
			res, ok, err := call(cmd.Context(), g, asJSON, func(c *api.Client, ctx context.Context) (api.RevokeResult, error) {
				return c.Revoke(ctx, req)
			})
			if !ok {
				return err
			}
			fmt.Fprintf(g.stdout, "revoked %s\n", res.Revoked)
			fmt.Fprintln(g.stderr, "every node refuses it from now on; its shards are being rebuilt elsewhere ('respaldo status' shows the repair queue)")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&reason, "reason", "", "why, kept in the roster (one line, at most 256 bytes)")
	f.BoolVar(&force, "force", false, "allow more than m storage nodes revoked within 24 h")
	f.StringVar(&opKey, "operator-key", "", "operator key file, for a node that holds none")
	f.BoolVar(&asJSON, "json", false, "print JSON (keys as in CLI.md)")
	return cmd
}
