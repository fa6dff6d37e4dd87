package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"respaldo/node/api"
)

func newInviteCommand(g *globals) *cobra.Command {
	var zone, role, opKey string
	var ttl time.Duration
	var memberFor longDuration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "invite",
		Short: "Make a one-line, single-use invite for a new node",
		Long: `invite asks the running node for an invite: one line starting with respaldo1,
with a checksum, the mesh's identity, a single-use token, the zone and role the new
node will have (the roster, signed by the operator key, says so; the new node cannot
choose), and this node's addresses. Give it to the new machine's operator, who runs
'respaldo join INVITE'. Until it is used or expires (--ttl), this node lets unknown
peers connect to speak the join protocol and nothing else.

The running node must hold an operator key, or pass one with --operator-key FILE
(so the key can live off the always-on server).`,
		Example: `  respaldo invite --zone barcelona --role storage
  respaldo invite --role client --ttl 30m --operator-key /media/usb/operator.key
  respaldo invite --role client --expires 90d`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := api.InviteRequest{Zone: zone, Role: role, TTL: api.Duration(ttl), MemberFor: api.Duration(memberFor)}
			var err error
			if req.OperatorKey, err = operatorKey(opKey); err != nil {
				return err
			}
			inv, ok, err := call(cmd.Context(), g, asJSON, func(c *api.Client, ctx context.Context) (api.Invite, error) {
				return c.Invite(ctx, req)
			})
			if !ok {
				return err
			}
			fmt.Fprintf(g.stdout, "%s\n", inv.Invite)
			fmt.Fprintf(g.stderr, "single use; zone %s, role %s; expires %s. On the new machine: respaldo join <the line above>\n",
				inv.Zone, inv.Role, inv.Expires.Local().Format(time.RFC1123))
			if memberFor > 0 {
				fmt.Fprintf(g.stderr, "the new node's membership ends %v after it joins, unless renewed ('respaldo renew PEER_ID --for …')\n",
					time.Duration(memberFor))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&zone, "zone", "", "the new node's zone (default: this node's)")
	f.StringVar(&role, "role", "storage", "the new node's role: storage (holds shards) or client (a laptop)")
	f.DurationVar(&ttl, "ttl", time.Hour, "how long the invite stays valid")
	f.Var(&memberFor, "expires", "end the new node's membership this long after it joins, e.g. 90d or 720h (default: never); 'respaldo renew' extends it")
	f.StringVar(&opKey, "operator-key", "", "operator key file, for a node that holds none")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
