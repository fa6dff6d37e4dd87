package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// cmdSource is the output of `backup --stdin-from CMD`, read as the backup's
// input. It ends with io.EOF only when CMD has exited with status 0; if CMD
// fails (or is stopped) it ends with an error, so that the backup fails and
// makes no snapshot.
type cmdSource struct {
	command string
	cmd     *exec.Cmd
	out     *os.File      // the read end of CMD's stdout
	exited  chan struct{} // closed once waitErr is set
	waitErr error

	mu      sync.Mutex
	stopped bool
}

// startCommand runs command through the shell (sh -c; cmd /C on Windows)
// with stdin as its input if that is a file (a terminal, a pipe), and
// stderr as its error output.
func startCommand(ctx context.Context, command string, stdin io.Reader, stderr io.Writer) (*cmdSource, error) {
	cmd := shellCommand(ctx, command)
	if f, ok := stdin.(*os.File); ok {
		cmd.Stdin = f
	}
	cmd.Stderr = stderr
	// Our own pipe, not cmd.StdoutPipe: Wait must not close it under a
	// reader, and stop must be able to cut a read short.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, fmt.Errorf("--stdin-from: %w", err)
	}
	pw.Close() // CMD holds the write end now
	s := &cmdSource{command: command, cmd: cmd, out: pr, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

// Read reads CMD's output. At the end of it, it waits for CMD to exit: the
// end is io.EOF only if CMD succeeded.
func (s *cmdSource) Read(p []byte) (int, error) {
	n, err := s.out.Read(p)
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		<-s.exited
		if s.isStopped() {
			return n, s.stoppedErr()
		}
		if s.waitErr != nil {
			return n, fmt.Errorf("--stdin-from %q failed (%s); no snapshot was made", shortCommand(s.command), describeExit(s.waitErr))
		}
		return n, io.EOF
	case s.isStopped() || errors.Is(err, os.ErrClosed):
		return n, s.stoppedErr()
	default:
		return n, fmt.Errorf("--stdin-from: reading the output of %q: %w", shortCommand(s.command), err)
	}
}

func (s *cmdSource) isStopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

func (s *cmdSource) stoppedErr() error {
	return fmt.Errorf("--stdin-from %q: stopped before its output was read to the end", shortCommand(s.command))
}

// stop ends CMD if it still runs (its output is no longer wanted: the
// backup is over or failed) and waits for it. It may be called while a
// Read is under way, and more than once.
func (s *cmdSource) stop() {
	s.mu.Lock()
	first := !s.stopped
	s.stopped = true
	s.mu.Unlock()
	if !first {
		<-s.exited
		return
	}
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Kill()
	}
	s.out.Close() // a Read under way returns; a writer left gets EPIPE
	<-s.exited
}

// describeExit says how CMD ended, in a few words.
func describeExit(err error) string {
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		if code := ee.ExitCode(); code >= 0 {
			return fmt.Sprintf("exit status %d", code)
		}
		return ee.String() // "signal: killed"
	}
	return err.Error()
}

// shortCommand keeps a command short enough for a one-line error.
func shortCommand(c string) string {
	c = strings.Join(strings.Fields(c), " ")
	if r := []rune(c); len(r) > 60 {
		return string(r[:57]) + "..."
	}
	return c
}
