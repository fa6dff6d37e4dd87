package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// PprofAddrEnv names the environment variable that, when set, makes a
// running node serve Go's profiler (net/http/pprof) on that address, for
// benchmarks and debugging (docs/performance.md). Loopback addresses only.
const PprofAddrEnv = "RESPALDO_PPROF_ADDR"

// startPprof serves /debug/pprof/ on $RESPALDO_PPROF_ADDR until ctx ends,
// when the variable is set; otherwise it does nothing. An address that is
// not a loopback one, or that cannot be bound, is an error: the node does
// not start rather than expose its profiler or run without it unnoticed.
func startPprof(ctx context.Context, logger *slog.Logger) error {
	addr := os.Getenv(PprofAddrEnv)
	if addr == "" {
		return nil
	}
	if err := checkLoopbackAddr(addr); err != nil {
		return fmt.Errorf("%s=%s: %w", PprofAddrEnv, addr, err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%s=%s: %w", PprofAddrEnv, addr, err)
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		ln.Close() // "localhost" resolved to something else
		return fmt.Errorf("%s=%s: bound %s, not a loopback address", PprofAddrEnv, addr, ln.Addr())
	}
	// A mux of its own: the profiler is never reachable through the local API.
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("pprof: serving stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	logger.Warn("pprof: profiler listening (for benchmarks and debugging only)", "addr", ln.Addr().String())
	return nil
}

// checkLoopbackAddr accepts HOST:PORT whose HOST is "localhost" or a
// loopback IP literal (127.0.0.0/8, ::1); anything else, an empty host
// included (every interface), is refused.
func checkLoopbackAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("not HOST:PORT: %w", err)
	}
	if port == "" {
		return errors.New("no port")
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("the profiler listens on loopback addresses only (127.0.0.1:PORT or [::1]:PORT), not %q", host)
}
