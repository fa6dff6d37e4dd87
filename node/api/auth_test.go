package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"respaldo/node/api"
)

func wantError(t *testing.T, what string, status int, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("%s: status %d, want %d (%s)", what, status, wantStatus, body)
	}
	if strings.Count(strings.TrimSpace(string(body)), "\n") != 0 {
		t.Errorf("%s: body is not one line: %q", what, body)
	}
	var e struct{ Error, Code string }
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%s: body %q: %v", what, body, err)
	}
	if e.Code != wantCode || e.Error == "" {
		t.Errorf("%s: code %q error %q, want code %q", what, e.Code, e.Error, wantCode)
	}
	oneLine(t, e.Error)
}

func TestUnauthorized(t *testing.T) {
	f := newFake()
	s, dir, _ := start(t, f, api.ServerOptions{})
	for _, auth := range []string{"-", "Bearer " + strings.Repeat("0", 64), "Bearer", "Basic " + readToken(t, dir), readToken(t, dir)} {
		for _, r := range [][2]string{{"GET", "/v1/status"}, {"POST", "/v1/restore"}, {"GET", "/v1/nonsense"}, {"GET", "/metrics"}} {
			resp, b := raw(t, s, dir, r[0], r[1], `{"snapshot":"x","target":"/x"}`, map[string]string{"Authorization": auth})
			wantError(t, r[0]+" "+r[1]+" with "+auth, resp.StatusCode, b, 401, "unauthorized")
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		}
	}
	if len(f.calls) != 0 {
		t.Errorf("backend called without a token: %v", f.calls)
	}
	// The scheme is case-insensitive.
	resp, _ := raw(t, s, dir, "GET", "/v1/status", "", map[string]string{"Authorization": "bearer " + readToken(t, dir)})
	if resp.StatusCode != 200 {
		t.Errorf("lower-case bearer: %s", resp.Status)
	}

	// The client with a stale token maps 401 to ErrUnauthorized.
	if err := os.WriteFile(filepath.Join(dir, api.TokenFile), []byte(strings.Repeat("1", 64)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := api.Dial(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Status(context.Background())
	if !errors.Is(err, api.ErrUnauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
	oneLine(t, err.Error())
}

// A page of another name that resolves to 127.0.0.1 (DNS rebinding) is refused.
func TestHostHeader(t *testing.T) {
	s, dir, _ := start(t, newFake(), api.ServerOptions{})
	for _, host := range []string{"evil.example", "evil.example:4080", "127.0.0.1.nip.io"} {
		resp, b := raw(t, s, dir, "GET", "/v1/status", "", map[string]string{"Host": host})
		wantError(t, "host "+host, resp.StatusCode, b, 403, "forbidden")
		resp, _ = raw(t, s, dir, "GET", "/", "", map[string]string{"Host": host})
		if resp.StatusCode != 403 {
			t.Errorf("dashboard for host %s: %s", host, resp.Status)
		}
	}
	for _, host := range []string{"localhost", "localhost:1", "127.0.0.1", "[::1]:5"} {
		resp, b := raw(t, s, dir, "GET", "/v1/status", "", map[string]string{"Host": host})
		if resp.StatusCode != 200 {
			t.Errorf("host %s: %s %s", host, resp.Status, b)
		}
	}
}

func TestMethodsAndRoutes(t *testing.T) {
	s, dir, _ := start(t, newFake(), api.ServerOptions{})
	resp, b := raw(t, s, dir, "POST", "/v1/status", "", nil)
	wantError(t, "POST /v1/status", resp.StatusCode, b, 405, "bad-request")
	if resp.Header.Get("Allow") == "" {
		t.Error("405 without Allow")
	}
	resp, b = raw(t, s, dir, "GET", "/v1/restore", "", nil)
	wantError(t, "GET /v1/restore", resp.StatusCode, b, 405, "bad-request")
	resp, b = raw(t, s, dir, "GET", "/v1/nonsense", "", nil)
	wantError(t, "GET /v1/nonsense", resp.StatusCode, b, 404, "not-found")
	resp, b = raw(t, s, dir, "GET", "/favicon.ico", "", map[string]string{"Authorization": "-"})
	wantError(t, "GET /favicon.ico", resp.StatusCode, b, 404, "not-found")
}
