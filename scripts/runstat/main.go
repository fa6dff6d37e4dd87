// Command runstat runs a command and prints, on its last line of standard
// error, the wall time and the peak resident memory of the command and its
// children, as one JSON object: {"seconds": 12.3, "peak_rss_kib": 45678}.
// The benchmark scripts use it so restic and respaldo are measured alike.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: runstat COMMAND [ARG...]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	secs := time.Since(start).Seconds()
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = int64(ru.Maxrss) // KiB on Linux
	}
	out, _ := json.Marshal(map[string]any{"seconds": secs, "peak_rss_kib": rss})
	fmt.Fprintln(os.Stderr, string(out))
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "runstat:", err)
		os.Exit(1)
	}
}
