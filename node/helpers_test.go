package node

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

// scale stretches a test timeout by RESPALDO_TEST_TIMESCALE (default 1).
func scale(d time.Duration) time.Duration {
	if f, err := strconv.ParseFloat(os.Getenv("RESPALDO_TEST_TIMESCALE"), 64); err == nil && f > 0 {
		return time.Duration(float64(d) * f)
	}
	return d
}

// testConfig listens on 127.0.0.1 only, with fast heartbeats and no NAT
// port mapping.
func testConfig() Config {
	c := DefaultConfig()
	c.Listen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	c.API = "127.0.0.1:0"
	c.Heartbeat = 200 * time.Millisecond
	c.NATPortMap = false
	return c
}

// eventually polls cond until it returns nil or d (scaled) passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(scale(d))
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, scale(d), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// start opens the node of dir and runs it until the test ends.
func start(t *testing.T, dir string) *Node {
	t.Helper()
	n, err := Open(context.Background(), dir, testConfig(), nil)
	if err != nil {
		t.Fatalf("Open %s: %v", dir, err)
	}
	runNode(t, n)
	return n
}
