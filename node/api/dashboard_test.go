package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"respaldo/node/api"
)

func TestDashboardPage(t *testing.T) {
	s, dir, _ := start(t, newFake(), api.ServerOptions{})
	resp, b := raw(t, s, dir, "GET", "/", "", map[string]string{"Authorization": "-"})
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'nonce-") {
		t.Errorf("CSP %q", csp)
	}
	page := string(b)
	nonce := csp[strings.Index(csp, "'nonce-")+7:]
	nonce = nonce[:strings.Index(nonce, "'")]
	if !strings.Contains(page, `<script nonce="`+nonce+`">`) || strings.Contains(page, "{{NONCE}}") {
		t.Error("the page's script does not carry the CSP nonce")
	}
	for _, bad := range []string{"innerHTML", "http://", "https://", "src=", "localStorage"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	for _, want := range []string{"/v1/status", "/v1/peers", "textContent"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	_, b2 := raw(t, s, dir, "GET", "/", "", nil)
	if string(b2) == page {
		t.Error("the nonce is the same for two responses")
	}
}

// The one-time link sets a cookie that opens the read-only routes only.
func TestDashboardLink(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, dir, c := start(t, newFake(), api.ServerOptions{Metrics: reg})
	link, err := c.DashboardLink(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(link.URL)
	if err != nil || u.Host != s.Addr() || u.Path != "/login" || u.Query().Get("code") == "" {
		t.Fatalf("link %q", link.URL)
	}
	path := u.Path + "?" + u.RawQuery
	resp, _ := raw(t, s, dir, "GET", path, "", map[string]string{"Authorization": "-"})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("cookies %+v", cookies)
	}
	ck := cookies[0]
	if ck.Value == readToken(t, dir) {
		t.Error("the cookie is the API token")
	}
	withCookie := map[string]string{"Authorization": "-", "Cookie": ck.Name + "=" + ck.Value}

	// Used once: the link no longer works.
	resp, b := raw(t, s, dir, "GET", path, "", map[string]string{"Authorization": "-"})
	wantError(t, "second use of the link", resp.StatusCode, b, 401, "unauthorized")

	for _, p := range []string{"/v1/status", "/v1/peers", "/v1/roster", "/metrics"} {
		if resp, b := raw(t, s, dir, "GET", p, "", withCookie); resp.StatusCode != 200 {
			t.Errorf("GET %s with the cookie: %s %s", p, resp.Status, b)
		}
	}
	for _, r := range [][2]string{{"GET", "/v1/snapshots"}, {"POST", "/v1/forget"}, {"POST", "/v1/backup"}, {"POST", "/v1/dashboard-link"}} {
		resp, b := raw(t, s, dir, r[0], r[1], `{"keep_last":1}`, withCookie)
		wantError(t, r[0]+" "+r[1]+" with the cookie", resp.StatusCode, b, 401, "unauthorized")
	}
	// Another origin (a web app on another localhost port) cannot use it.
	for _, site := range []string{"same-site", "cross-site"} {
		h := map[string]string{"Authorization": "-", "Cookie": ck.Name + "=" + ck.Value, "Sec-Fetch-Site": site}
		resp, b := raw(t, s, dir, "GET", "/v1/status", "", h)
		wantError(t, "cookie from "+site, resp.StatusCode, b, 401, "unauthorized")
	}
	// A made-up code does nothing.
	resp, b = raw(t, s, dir, "GET", "/login?code=00", "", map[string]string{"Authorization": "-"})
	wantError(t, "made-up code", resp.StatusCode, b, 401, "unauthorized")
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "respaldo_test_shards", Help: "test"})
	reg.MustRegister(g)
	g.Set(42)

	s, dir, _ := start(t, newFake(), api.ServerOptions{Metrics: reg})
	resp, b := raw(t, s, dir, "GET", "/metrics", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "respaldo_test_shards 42") {
		t.Errorf("/metrics: %s %s", resp.Status, b)
	}
	resp, _ = raw(t, s, dir, "GET", "/metrics", "", map[string]string{"Authorization": "-"})
	if resp.StatusCode != 401 {
		t.Errorf("/metrics without the token: %s", resp.Status)
	}

	s2, dir2, _ := start(t, newFake(), api.ServerOptions{Metrics: reg, OpenMetrics: true})
	resp, _ = raw(t, s2, dir2, "GET", "/metrics", "", map[string]string{"Authorization": "-"})
	if resp.StatusCode != 200 {
		t.Errorf("/metrics open: %s", resp.Status)
	}
	resp, _ = raw(t, s2, dir2, "GET", "/v1/status", "", map[string]string{"Authorization": "-"})
	if resp.StatusCode != 401 {
		t.Errorf("OpenMetrics opened /v1/status: %s", resp.Status)
	}

	s3, dir3, _ := start(t, newFake(), api.ServerOptions{})
	resp, b = raw(t, s3, dir3, "GET", "/metrics", "", nil)
	wantError(t, "no metrics", resp.StatusCode, b, 404, "not-found")
}
