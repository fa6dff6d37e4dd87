package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"respaldo/node/api"
)

func newRenewCommand(g *globals) *cobra.Command {
	var opKey string
	var asJSON bool
	var d longDuration
	cmd := &cobra.Command{
		Use:   "renew PEER_ID --for DURATION",
		Short: "Extend the membership of a node admitted with an expiry (a laptop)",
		Long: `renew appends a new admit entry for PEER_ID to the roster, signed with the operator
key: same zone and role, and a membership that ends DURATION from now. A node admitted
with 'respaldo invite --expires' is refused by every node from the instant its
membership ends, until it is renewed; an expired member may be renewed too. Renewal
only extends a membership that has an end; a revoked peer is never admitted again.`,
		Example: `  respaldo renew 12D3KooWRa4… --for 90d
  respaldo renew 12D3KooWRa4… --for 720h --operator-key /media/usb/operator.key`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if d <= 0 {
				return fmt.Errorf("renew: for how long? (--for DURATION, e.g. 90d or 720h)")
			}
			req := api.RenewRequest{PeerID: args[0], For: api.Duration(d)}
			var err error
			if req.OperatorKey, err = operatorKey(opKey); err != nil {
				return err
			}
			res, ok, err := call(cmd.Context(), g, asJSON, func(c *api.Client, ctx context.Context) (api.RenewResult, error) {
				return c.Renew(ctx, req)
			})
			if !ok {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "renewed %s until %s\n", res.Renewed, res.Expires.Local().Format(time.RFC1123))
			return err
		},
	}
	f := cmd.Flags()
	f.Var(&d, "for", "how long from now the membership lasts: a Go duration (720h) or days (90d) or weeks (12w)")
	f.StringVar(&opKey, "operator-key", "", "operator key file, for a node that holds none")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// longDuration is a flag value: a Go duration ("720h", "90m"), or a whole
// number of days ("90d") or weeks ("12w").
type longDuration time.Duration

func (d *longDuration) String() string {
	if *d == 0 {
		return ""
	}
	return time.Duration(*d).String()
}

func (d *longDuration) Type() string { return "duration" }

func (d *longDuration) Set(s string) error {
	v, err := parseLongDuration(s)
	if err != nil {
		return err
	}
	*d = longDuration(v)
	return nil
}

func parseLongDuration(s string) (time.Duration, error) {
	unit := time.Duration(0)
	switch {
	case strings.HasSuffix(s, "d"):
		unit = 24 * time.Hour
	case strings.HasSuffix(s, "w"):
		unit = 7 * 24 * time.Hour
	}
	if unit != 0 {
		k, err := strconv.Atoi(s[:len(s)-1])
		if err != nil || k < 0 || k > 100*365 {
			return 0, fmt.Errorf("%q is not a duration (e.g. 90d, 12w or 720h)", s)
		}
		return time.Duration(k) * unit, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 90d, 12w or 720h)", s)
	}
	return v, nil
}
