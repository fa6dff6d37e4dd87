//go:build tools

// This file only pins modules that the daemon's next pieces use (CLI
// script tests), so go.mod keeps them at the versions chosen; each line
// goes when a real import takes its place.
package node

import (
	_ "github.com/rogpeppe/go-internal/testscript"
)
