package node

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// The in-memory stream carries bytes both ways with half-close, and a
// read or write blocked past its deadline returns instead of hanging.
func TestLoopStream(t *testing.T) {
	c2s, s2c := newHalfPipe(), newHalfPipe()
	client, server := &loopStream{r: s2c, w: c2s}, &loopStream{r: c2s, w: s2c}
	msg := bytes.Repeat([]byte("x"), 3*halfPipeBuffer+17)
	go func() {
		_, _ = client.Write(msg)
		_ = client.CloseWrite()
	}()
	got, err := io.ReadAll(server)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	_ = client.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	if _, err := client.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("read past its deadline: %v after %v", err, time.Since(start))
	}
	_ = server.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := server.Write(make([]byte, 2*halfPipeBuffer)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write into a full pipe past its deadline: %v", err)
	}
	_ = client.Reset()
	if _, err := server.Write([]byte("y")); !errors.Is(err, errLoopReset) {
		t.Fatalf("write after reset: %v", err)
	}
}
