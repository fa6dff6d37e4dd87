package dht

import (
	"context"
	"crypto/rand"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"respaldo/crypto"
)

// scaled multiplies d by RESPALDO_TEST_TIMESCALE (a float, default 1), for
// slow or loaded machines.
func scaled(d time.Duration) time.Duration {
	if f, err := strconv.ParseFloat(os.Getenv("RESPALDO_TEST_TIMESCALE"), 64); err == nil && f > 0 {
		return time.Duration(float64(d) * f)
	}
	return d
}

// testCtx is a context bounded by a scaled timeout, ended with the test.
func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), scaled(d))
	t.Cleanup(cancel)
	return ctx
}

func newKey(t *testing.T) p2pcrypto.PrivKey {
	t.Helper()
	k, _, err := p2pcrypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// peerSet is a roster stand-in: a concurrent set of allowed peers.
type peerSet struct {
	mu  sync.Mutex
	all bool
	m   map[peer.ID]bool
}

func allowAll() *peerSet { return &peerSet{all: true, m: map[peer.ID]bool{}} }
func allowOnly(ps ...peer.ID) *peerSet {
	s := &peerSet{m: map[peer.ID]bool{}}
	for _, p := range ps {
		s.m[p] = true
	}
	return s
}

func (s *peerSet) Allowed(p peer.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[p]; ok {
		return v
	}
	return s.all
}

func (s *peerSet) set(p peer.ID, ok bool) {
	s.mu.Lock()
	s.m[p] = ok
	s.mu.Unlock()
}

// testHostConfig listens on 127.0.0.1 only (TCP and QUIC, ports chosen by
// the kernel), with no port mapping and no metrics.
func testHostConfig(t *testing.T, key p2pcrypto.PrivKey, g *AllowList) HostConfig {
	cfg := DefaultHostConfig()
	cfg.Key = key
	cfg.Gater = g
	cfg.ListenAddrs = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	cfg.NATPortMap = false
	return cfg
}

// startHost starts a host on 127.0.0.1, closed with the test.
func startHost(t *testing.T, cfg HostConfig) host.Host {
	t.Helper()
	h, err := NewHost(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// addrOf returns h's listen address of the given transport (ma.P_TCP or
// ma.P_QUIC_V1) as the only address of an AddrInfo.
func addrOf(t *testing.T, h host.Host, code int) peer.AddrInfo {
	t.Helper()
	for _, a := range h.Addrs() {
		if _, err := a.ValueForProtocol(code); err == nil {
			return peer.AddrInfo{ID: h.ID(), Addrs: []ma.Multiaddr{a}}
		}
	}
	t.Fatalf("%s has no address with protocol %d: %v", h.ID(), code, h.Addrs())
	return peer.AddrInfo{}
}

func infoOf(h host.Host) peer.AddrInfo { return peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()} }

// newSigner returns the head signer of a fresh member's device.
func newSigner(t testing.TB, device string) crypto.HeadSigner {
	t.Helper()
	rk, err := crypto.GenerateRecoveryKey()
	if err != nil {
		t.Fatal(err)
	}
	w, err := rk.Member().Write(device)
	if err != nil {
		t.Fatal(err)
	}
	return w.HeadSigner()
}

// eventually polls cond every 20 ms until it holds or d (scaled) passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(scaled(d))
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
