package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"respaldo/node/api"
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
			res, err := drainWithProgress(cmd.Context(), c, g.stderr, asJSON)
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

// drainWithProgress runs the drain and, while it runs, shows how many of
// the node's shards have left it: the shard count its status reports,
// against the count at the start. On a terminal a bar; otherwise (not with
// --json) a line every 10 s.
func drainWithProgress(ctx context.Context, c *api.Client, w io.Writer, asJSON bool) (api.DrainResult, error) {
	type answer struct {
		res api.DrainResult
		err error
	}
	var start int64
	if st, err := c.Status(ctx); err == nil {
		start = st.Shards
	}
	done := make(chan answer, 1)
	go func() {
		res, err := c.Drain(ctx)
		done <- answer{res, err}
	}()
	var bar *progressbar.ProgressBar
	tty := isTerminal(w)
	if !asJSON && tty && start > 0 {
		bar = progressbar.NewOptions64(start, progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("draining"), progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(25))
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case a := <-done:
			if bar != nil {
				_ = bar.Finish()
			}
			return a.res, a.err
		case <-tick.C:
			st, err := c.Status(ctx)
			if err != nil || start == 0 {
				continue
			}
			moved := max(start-st.Shards, 0)
			switch {
			case bar != nil:
				_ = bar.Set64(moved)
			case !asJSON && !tty && time.Since(last) >= 10*time.Second:
				fmt.Fprintf(w, "draining: %d of %d shards moved\n", moved, start)
				last = time.Now()
			}
		}
	}
}
