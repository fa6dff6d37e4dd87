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

// A deadline moved later, lifted, or set again and again works as set, with
// one timer per deadline of a pipe (not one per call).
func TestLoopStreamDeadlinesMove(t *testing.T) {
	c2s, s2c := newHalfPipe(), newHalfPipe()
	client, server := &loopStream{r: s2c, w: c2s}, &loopStream{r: c2s, w: s2c}
	buf := make([]byte, 8)

	// Set a thousand times: the last one counts, and one timer serves them.
	for i := range 1000 {
		_ = client.SetReadDeadline(time.Now().Add(time.Hour + time.Duration(i)))
	}
	first := s2c.rt
	_ = client.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	if s2c.rt != first || first == nil {
		t.Fatalf("a new timer per deadline set")
	}
	start := time.Now()
	if _, err := client.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past a deadline set 1001 times: %v", err)
	}
	if d := time.Since(start); d < 25*time.Millisecond || d > 5*time.Second {
		t.Fatalf("read returned after %v, the deadline was 30ms", d)
	}

	// Moved later while a read waits: the read waits for the new one.
	start = time.Now()
	_ = client.SetReadDeadline(start.Add(300 * time.Millisecond))
	go func() {
		time.Sleep(10 * time.Millisecond)
		_ = client.SetReadDeadline(start.Add(800 * time.Millisecond))
	}()
	if _, err := client.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past a deadline moved later: %v", err)
	}
	if d := time.Since(start); d < 800*time.Millisecond || d > 10*time.Second {
		t.Fatalf("read returned after %v; the deadline was moved from 300ms to 800ms", d)
	}

	// Lifted: a read waits past the old deadline, and gets the bytes.
	_ = client.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_ = client.SetReadDeadline(time.Time{})
	go func() {
		time.Sleep(80 * time.Millisecond)
		_, _ = server.Write([]byte("late"))
	}()
	if n, err := client.Read(buf); err != nil || string(buf[:n]) != "late" {
		t.Fatalf("read with the deadline lifted: %q, %v", buf[:n], err)
	}

	// In the past: at once. Writes too.
	_ = client.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := client.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with a deadline in the past: %v", err)
	}
	for range 100 {
		_ = server.SetWriteDeadline(time.Now().Add(time.Hour))
	}
	wt := s2c.wt
	_ = server.SetWriteDeadline(time.Now().Add(30 * time.Millisecond))
	if s2c.wt != wt {
		t.Fatalf("a new write timer per deadline set")
	}
	if _, err := server.Write(make([]byte, 2*halfPipeBuffer)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write into a full pipe past its deadline: %v", err)
	}
}
