package api_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"respaldo/node/api"
)

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	s := api.NewServer(newFake(), api.ServerOptions{Addr: "127.0.0.1:0"})
	if err := s.Start(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, api.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s mode %v, want 0600", api.TokenFile, fi.Mode().Perm())
	}
	tok := readToken(t, dir)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(tok) {
		t.Errorf("token %q is not 64 hex digits", tok)
	}
	addr, err := os.ReadFile(filepath.Join(dir, api.AddrFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(addr)); got != s.Addr() || strings.HasSuffix(got, ":0") {
		t.Errorf("api.addr %q, server bound %q", got, s.Addr())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("data dir holds %d entries, want api.addr and api.token only (no temp files)", len(ents))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{api.AddrFile, api.TokenFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s after Shutdown: %v", f, err)
		}
	}
	if _, err := api.Dial(dir); !errors.Is(err, api.ErrNodeNotRunning) {
		t.Errorf("Dial after Shutdown: %v", err)
	}

	// A new start writes a new token.
	s2 := api.NewServer(newFake(), api.ServerOptions{Addr: "127.0.0.1:0"})
	if err := s2.Start(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	defer s2.Shutdown(ctx)
	if readToken(t, dir) == tok {
		t.Error("the token did not change between starts")
	}
}

func TestDialNotRunning(t *testing.T) {
	dir := t.TempDir()
	_, err := api.Dial(dir)
	if !errors.Is(err, api.ErrNodeNotRunning) {
		t.Fatalf("Dial on an empty dir: %v", err)
	}
	want := "no node is running in " + dir + " (start one with 'respaldo node')"
	if err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}

	// Files left by a node that died: nothing answers there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stale := ln.Addr().String()
	ln.Close()
	os.WriteFile(filepath.Join(dir, api.AddrFile), []byte(stale+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, api.TokenFile), []byte(strings.Repeat("a", 64)+"\n"), 0o600)
	if _, err := api.Dial(dir); !errors.Is(err, api.ErrNodeNotRunning) || err.Error() != want {
		t.Errorf("Dial with stale files: %v", err)
	}

	// An api.addr that is not loopback: the token is not sent there.
	os.WriteFile(filepath.Join(dir, api.AddrFile), []byte("192.0.2.1:4080\n"), 0o644)
	if _, err := api.Dial(dir); err == nil || errors.Is(err, api.ErrNodeNotRunning) {
		t.Errorf("Dial to a non-loopback api.addr: %v", err)
	}
}

// A node that stops between two calls: the next call says so.
func TestNodeStopsBetweenCalls(t *testing.T) {
	s, dir, c := start(t, newFake(), api.ServerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := c.Status(context.Background())
	if !errors.Is(err, api.ErrNodeNotRunning) {
		t.Fatalf("status after the node stopped: %v", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("message %q does not name the dir", err)
	}
}

func TestValidate(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "127.0.0.1:4080", "[::1]:0", "127.1.2.3:80"} {
		if err := (api.ServerOptions{Addr: addr}).Validate(); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	for _, addr := range []string{"0.0.0.0:4080", ":4080", "192.168.1.2:4080", "[::]:4080", "localhost:4080",
		"example.com:4080", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:99999", "[fe80::1%lo]:1"} {
		err := (api.ServerOptions{Addr: addr}).Validate()
		if err == nil {
			t.Errorf("%s: accepted", addr)
			continue
		}
		oneLine(t, err.Error())
		if err := api.NewServer(newFake(), api.ServerOptions{Addr: addr}).Start(context.Background(), t.TempDir()); err == nil {
			t.Errorf("%s: Start listened", addr)
		}
	}
	if err := api.DefaultServerOptions().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
