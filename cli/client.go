package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"respaldo/node/api"
)

// dial reaches the node running in the data folder through its local API.
// When none runs there the error says so in one line (CLI.md).
func dial(g *globals) (*api.Client, error) {
	return api.Dial(g.dataDir)
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// call asks the running node one thing through the API and hands the
// answer back; with asJSON it prints the answer as JSON and returns ok
// false, so the caller prints its human lines only when ok.
func call[T any](ctx context.Context, g *globals, asJSON bool, ask func(*api.Client, context.Context) (T, error)) (v T, ok bool, err error) {
	c, err := dial(g)
	if err != nil {
		return v, false, err
	}
	defer c.Close()
	if v, err = ask(c, ctx); err != nil {
		return v, false, err
	}
	if asJSON {
		return v, false, printJSON(g.stdout, v)
	}
	return v, true, nil
}

// operatorKey reads the --operator-key file, if one was given.
func operatorKey(path string) (api.Secret, error) {
	if path == "" {
		return api.Secret{}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return api.Secret{}, fmt.Errorf("--operator-key: %w", err)
	}
	return api.NewSecret(string(b)), nil
}

// queryCommand builds a command that asks the running node one question
// through the API and prints the answer: as JSON with --json (the keys of
// CLI.md), else through human.
func queryCommand[T any](g *globals, use, short string,
	ask func(*api.Client, context.Context) (T, error), human func(io.Writer, T) error) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := dial(g)
			if err != nil {
				return err
			}
			defer c.Close()
			v, err := ask(c, cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.stdout, v)
			}
			return human(g.stdout, v)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (keys as in CLI.md)")
	return cmd
}
