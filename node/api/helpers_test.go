package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"respaldo/crypto"
	"respaldo/node/api"
)

// start runs a server for b on 127.0.0.1:0 in a temp dir and dials it.
func start(t *testing.T, b api.Backend, opts api.ServerOptions) (*api.Server, string, *api.Client) {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	dir := t.TempDir()
	s := api.NewServer(b, opts)
	if err := s.Start(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	c, err := api.Dial(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return s, dir, c
}

func readToken(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, api.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// raw sends a request by hand; header "Authorization" is set to the
// node's token unless given (use "-" for none).
func raw(t *testing.T, s *api.Server, dir, method, path, body string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.Addr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+readToken(t, dir))
	for k, v := range header {
		if v == "-" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	if header["Host"] != "" {
		req.Host = header["Host"]
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func newKey(t *testing.T) crypto.RecoveryKey {
	t.Helper()
	k, err := crypto.GenerateRecoveryKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// oneLine fails unless msg is one non-empty line.
func oneLine(t *testing.T, msg string) {
	t.Helper()
	if msg == "" || strings.ContainsAny(msg, "\r\n") {
		t.Errorf("message %q is not one line", msg)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu chan struct{}
	b  bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.String()
}

func mustWd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// emptyBackend answers empty lists and results with nil slices.
type emptyBackend struct{ *fakeBackend }

func (emptyBackend) Peers(context.Context) ([]api.Peer, error)         { return nil, nil }
func (emptyBackend) Roster(context.Context) ([]api.RosterEntry, error) { return nil, nil }
func (emptyBackend) Snapshots(context.Context, api.SnapshotsRequest) ([]api.Snapshot, error) {
	return nil, nil
}
func (emptyBackend) Forget(context.Context, api.ForgetRequest) (api.ForgetResult, error) {
	return api.ForgetResult{}, nil
}
