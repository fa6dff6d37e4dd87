package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultAddr is where the API listens unless told otherwise (--api).
const DefaultAddr = "127.0.0.1:4080"

// ServerOptions configure a Server: DefaultServerOptions, edit fields,
// Validate (NewServer does not; Start does).
type ServerOptions struct {
	// Addr is host:port to listen on. The host is a loopback IP literal
	// (127.0.0.1, ::1): the API serves the local user only. Port 0 picks
	// a free port; api.addr says which.
	Addr string
	// Logger gets one line per request (method, path, status, duration;
	// never bodies, query strings or headers) at Debug, Warn for 5xx.
	// Default: discard.
	Logger *slog.Logger
	// Metrics is served at /metrics; nil answers not-found there.
	Metrics prometheus.Gatherer
	// OpenMetrics serves /metrics without the token, for a local Prometheus
	// that cannot read api.token. It shows counts and sizes, no keys or
	// names of files. Off by default.
	OpenMetrics bool
}

// DefaultServerOptions are the defaults of CLI.md (--api 127.0.0.1:4080).
func DefaultServerOptions() ServerOptions { return ServerOptions{Addr: DefaultAddr} }

// Validate reports what is wrong with o, in one line.
func (o ServerOptions) Validate() error {
	_, err := loopbackAddr(o.Addr)
	return err
}

// loopbackAddr parses host:port, where host must be a loopback IP literal
// (not a name, not empty: ":4080" listens on every interface).
func loopbackAddr(addr string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("api address %q: want HOST:PORT, e.g. %s", addr, DefaultAddr)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() || ip.Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("api address %q: the API listens on a loopback address only (127.0.0.1 or ::1)", addr)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("api address %q: bad port", addr)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(p)), nil
}

var errNotStarted = errors.New("api: server not started")
