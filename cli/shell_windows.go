package cli

import (
	"context"
	"os/exec"
	"syscall"
)

// shellCommand runs command through cmd.exe, as typed: cmd /C does its own
// parsing, so the command line is passed on without Go's quoting.
func shellCommand(ctx context.Context, command string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "cmd.exe")
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: `cmd.exe /S /C "` + command + `"`}
	return cmd
}
