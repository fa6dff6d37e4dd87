//go:build !windows

package cli

import (
	"context"
	"os/exec"
)

// shellCommand runs command through sh -c.
func shellCommand(ctx context.Context, command string) *exec.Cmd {
	return exec.CommandContext(ctx, "sh", "-c", command)
}
