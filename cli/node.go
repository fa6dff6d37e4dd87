package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"respaldo/node"
	"respaldo/node/api"
)

func newNodeCommand(g *globals) *cobra.Command {
	var nf nodeFlags
	var verbose bool
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run this data folder's node in the foreground",
		Long: `node runs the node of --data DIR until SIGINT or SIGTERM: it joins the mesh,
serves its shards, publishes heartbeats and answers the local API, whose address
and token it writes to DIR/api.addr and DIR/api.token. This is what a service
manager (systemd) runs. Set a data folder up first with 'respaldo mesh create' or
'respaldo join INVITE'. Flags given here apply to this run only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadNodeConfig(g.dataDir)
			if err != nil {
				return err
			}
			nf.apply(&cfg)
			return runNode(cmd.Context(), g, cfg, verbose)
		},
	}
	nf.register(cmd.Flags())
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log debug detail")
	return cmd
}

// loadNodeConfig reads DIR's config, saying in one line what to do when the
// folder has never been set up.
func loadNodeConfig(dir string) (node.Config, error) {
	if _, err := os.Stat(filepath.Join(dir, node.ConfigFile)); errors.Is(err, fs.ErrNotExist) {
		return node.Config{}, fmt.Errorf("no node is set up in %s: run 'respaldo mesh create' or 'respaldo join INVITE' first", dir)
	}
	return node.LoadConfig(dir)
}

// newLogger is the daemon's log: text lines on stderr.
func newLogger(g *globals, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
}

// runNode opens the node in g.dataDir and serves it until ctx ends.
func runNode(ctx context.Context, g *globals, cfg node.Config, verbose bool) error {
	logger := newLogger(g, verbose)
	node.ApplyMemoryLimit(cfg.MemoryLimit)
	n, err := node.Open(ctx, g.dataDir, cfg, logger)
	if err != nil {
		return err
	}
	return serveNode(ctx, g, n, cfg, logger)
}

// serveNode serves the local API of an open node and runs it until ctx
// ends, then shuts both down in order and closes the node.
func serveNode(ctx context.Context, g *globals, n *node.Node, cfg node.Config, logger *slog.Logger) error {
	defer n.Close()
	if err := startPprof(ctx, logger); err != nil {
		return err
	}
	srv := api.NewServer(n.APIBackend(), api.ServerOptions{Addr: cfg.API, Logger: logger})
	if err := srv.Start(ctx, g.dataDir); err != nil {
		return fmt.Errorf("local API on %s: %w", cfg.API, err)
	}
	fmt.Fprintf(g.stdout, "node %s running from %s; API on %s (Ctrl-C stops it)\n", n.ID(), g.dataDir, srv.Addr())
	runErr := n.Run(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("API shutdown", "err", err)
	}
	if err := n.Close(); err != nil {
		return err
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	return nil
}
