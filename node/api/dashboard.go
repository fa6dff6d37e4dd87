package api

import (
	_ "embed"
	"net"
	"net/http"
	"strings"
	"time"
)

// The dashboard: GET / is a self-contained page (inline script and style
// under a per-response CSP nonce, no external assets) that polls
// /v1/status and /v1/peers every few seconds. It signs in either with the
// token the operator pastes (kept in the tab's sessionStorage) or with a
// cookie set by a one-time link: POST /v1/dashboard-link (bearer) returns
// http://ADDR/login?code=…, valid once for linkTTL, and /login sets an
// HttpOnly, SameSite=Strict session cookie that is not the token and that
// opens only the read-only GET routes (status, peers, roster, metrics).
// Everything the page shows is set as text, never as HTML: peers' zones
// and versions come from other machines.

//go:embed dashboard.html
var dashboardHTML string

// linkTTL is how long a one-time dashboard link stays valid.
const linkTTL = 2 * time.Minute

// maxLinks bounds the links waiting to be used.
const maxLinks = 16

func (s *Server) cookieName() string {
	// Cookies ignore ports: two nodes on one machine need two names.
	_, port, _ := net.SplitHostPort(s.addr)
	return "respaldo_session_" + port
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	nonce := newToken()[:32]
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+
		"'; connect-src 'self'; img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(strings.ReplaceAll(dashboardHTML, "{{NONCE}}", nonce)))
}

func (s *Server) dashboardLink(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	code := newToken()
	s.mu.Lock()
	for c, exp := range s.links {
		if now.After(exp) || len(s.links) >= maxLinks {
			delete(s.links, c)
		}
	}
	s.links[code] = now.Add(linkTTL)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, DashboardLink{URL: "http://" + s.addr + "/login?code=" + code, Expires: now.Add(linkTTL).UTC()})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	s.mu.Lock()
	exp, ok := s.links[code]
	delete(s.links, code)
	s.mu.Unlock()
	if !ok || time.Now().After(exp) {
		writeError(w, errorf("unauthorized", "this dashboard link was used or has expired; ask the node for a new one"))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: s.session, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
