package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Server is the node's local API. NewServer, then Start once and Shutdown
// once; Addr and the handlers may be used from any goroutine.
type Server struct {
	b    Backend
	opts ServerOptions
	log  *slog.Logger

	active atomic.Int64 // requests being answered

	mu      sync.Mutex
	hs      *http.Server
	served  chan struct{} // closed when Serve has returned
	dir     string
	addr    string // host:port bound
	token   string // the bearer token, 64 hex digits
	session string // the dashboard's cookie value, 64 hex digits
	links   map[string]time.Time
	ops     context.Context // the ctx of operations that outlive requests
	stopOps context.CancelFunc
}

// NewServer returns a Server that answers with b. opts is checked by Start.
func NewServer(b Backend, opts ServerOptions) *Server {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{b: b, opts: opts, log: log, links: map[string]time.Time{}}
}

// Start listens on opts.Addr, writes dataDir/api.token (a new token, mode
// 0600) and then dataDir/api.addr (the address bound), and serves until
// Shutdown. ctx bounds the listen, and operations that outlive their
// requests (Backend) run under it: when it ends they are canceled. It does
// not stop the server; call Shutdown.
func (s *Server) Start(ctx context.Context, dataDir string) error {
	if err := s.opts.Validate(); err != nil {
		return err
	}
	if fi, err := os.Stat(dataDir); err != nil || !fi.IsDir() {
		return fmt.Errorf("api: data directory %s: not a directory", dataDir)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hs != nil {
		return errors.New("api: server already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	s.dir, s.addr = dataDir, ln.Addr().String()
	s.token, s.session = newToken(), newToken()
	if err := s.writeFiles(); err != nil {
		ln.Close()
		s.removeFiles()
		return fmt.Errorf("api: %w", err)
	}
	s.ops, s.stopOps = context.WithCancel(ctx)
	s.hs = &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.served = make(chan struct{})
	go func() {
		defer close(s.served)
		if err := s.hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("api: serving stopped", "err", err)
		}
	}()
	s.log.Info("api: listening", "addr", s.addr)
	return nil
}

// Addr is the address bound ("127.0.0.1:4080"), or "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// cancelGrace is how long Shutdown waits, once it has canceled the
// operations still running, for them to answer before it closes their
// connections.
const cancelGrace = time.Second

// Shutdown removes api.addr and api.token, stops listening and waits for
// the requests being answered, operations included, until ctx ends; then
// it cancels those operations, gives them cancelGrace to answer, and
// closes every connection. It returns ctx's error if it had to.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	hs := s.hs
	s.mu.Unlock()
	if hs == nil {
		return errNotStarted
	}
	ferr := s.removeFiles()
	err := hs.Shutdown(ctx)
	s.stopOps()
	if err != nil {
		// Canceled operations get a moment to tell their clients why.
		for end := time.Now().Add(cancelGrace); s.active.Load() > 0 && time.Now().Before(end); {
			time.Sleep(10 * time.Millisecond)
		}
		hs.Close()
	}
	<-s.served
	return errors.Join(err, ferr)
}

func (s *Server) writeFiles() error {
	if err := writeFileAtomic(s.dir, TokenFile, []byte(s.token+"\n"), 0o600); err != nil {
		return err
	}
	return writeFileAtomic(s.dir, AddrFile, []byte(s.addr+"\n"), 0o644)
}

func (s *Server) removeFiles() error {
	return errors.Join(
		removeIfOurs(s.dir, AddrFile, []byte(s.addr+"\n")),
		removeIfOurs(s.dir, TokenFile, []byte(s.token+"\n")))
}
