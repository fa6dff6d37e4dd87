package cli

import (
	"encoding/json"
	"io"

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
