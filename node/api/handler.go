package api

import (
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// access says who may call a route.
type access int

const (
	bearer access = iota // the token in "Authorization: Bearer …"
	reader               // the token, or the dashboard's cookie (read-only GETs)
	open                 // anyone who can reach 127.0.0.1
)

// route is one path of the API.
type route struct {
	methods []string
	access  access
	serve   http.HandlerFunc
}

// handler is the whole API: the Host check, common headers, the request
// log, panics turned into internal errors, auth, then the route.
func (s *Server) handler() http.Handler {
	routes := s.routes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.active.Add(1)
		defer s.active.Add(-1)
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("api: handler panicked", "method", r.Method, "path", r.URL.Path, "panic", p)
				if sw.status == 0 {
					writeError(sw, errorf("internal", "internal error (see the node's log)"))
				}
			}
			s.logRequest(r, sw.status, start)
		}()
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if !loopbackHost(r.Host) {
			// A name other than localhost that resolves to 127.0.0.1 is a
			// DNS-rebinding page, not the local user.
			writeError(sw, errorf("forbidden", "the API answers to 127.0.0.1 only, not to host "+r.Host))
			return
		}
		rt, ok := routes[r.URL.Path]
		if !ok {
			rt = route{access: bearer, serve: notFound}
			if !strings.HasPrefix(r.URL.Path, "/v1/") {
				rt.access = open
			}
		}
		if !s.authorized(r, rt.access) {
			sw.Header().Set("WWW-Authenticate", `Bearer realm="respaldo"`)
			writeError(sw, errorf("unauthorized", "unauthorized: missing or wrong API token (the node writes a new one to "+TokenFile+" at each start)"))
			return
		}
		if rt.methods != nil && !allowed(rt.methods, r.Method) {
			sw.Header().Set("Allow", strings.Join(rt.methods, ", "))
			writeError(sw, &Error{Status: http.StatusMethodNotAllowed, Code: "bad-request",
				Message: r.Method + " " + r.URL.Path + ": method not allowed (use " + strings.Join(rt.methods, " or ") + ")"})
			return
		}
		rt.serve(sw, r)
	})
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, errorf("not-found", "no such API route: "+r.URL.Path))
}

func allowed(methods []string, m string) bool {
	for _, x := range methods {
		if x == m {
			return true
		}
	}
	return false
}

// authorized checks the bearer token in constant time. For reader routes a
// GET with the dashboard's cookie will also do, unless the browser says it
// comes from another site or origin (another web app on localhost).
func (s *Server) authorized(r *http.Request, a access) bool {
	if a == open {
		return true
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		return ok && strings.EqualFold(scheme, "Bearer") && equal(strings.TrimSpace(tok), s.token)
	}
	if a != reader || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	c, err := r.Cookie(s.cookieName())
	if err != nil || !equal(c.Value, s.session) {
		return false
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site == "" || site == "same-origin" || site == "none"
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// loopbackHost reports whether the Host header names this machine:
// localhost or a loopback IP literal, with or without a port.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// logRequest logs what is safe to log: method, path (no query: a login
// code travels there), status and duration. Never bodies or headers.
func (s *Server) logRequest(r *http.Request, status int, start time.Time) {
	if status == 0 {
		status = http.StatusOK
	}
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelWarn
	}
	s.log.Log(r.Context(), level, "api: request", "method", r.Method, "path", r.URL.Path,
		"status", status, "duration", time.Since(start).Round(time.Millisecond))
}

// statusWriter remembers the status written; Unwrap lets
// http.ResponseController reach Flush and EnableFullDuplex.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
