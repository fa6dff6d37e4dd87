// Command outsider plays a libp2p host that is not in the mesh's roster: for
// each address given (a multiaddr ending in /p2p/ID), over TCP and over QUIC
// separately, it tries to open a stream of every protocol a respaldo node
// speaks. It exits 0 only if every attempt fails (the ConnectionGater and the
// handlers' own roster checks hold), 1 if any stream opened, and prints one
// line per attempt. A successful Connect proves nothing (the refusing side
// may drop the connection after the handshake), so it tests with streams.
//
//	outsider -timeout 5s /ip4/127.0.0.1/tcp/4001/p2p/12D3… /ip4/127.0.0.1/udp/4001/quic-v1/p2p/12D3…
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"respaldo/node"
	"respaldo/node/shard"
)

var protocols = []protocol.ID{
	shard.ProtocolID,
	node.RosterProtocol,
	"/respaldo/kad/1.0.0",
	"/meshsub/1.1.0",
	"/meshsub/1.2.0",
	node.HeadsProtocol,
	node.JoinProtocol, // refused too when no invite is open
}

func main() {
	timeout := flag.Duration("timeout", 5*time.Second, "time allowed for each attempt")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: outsider [-timeout D] MULTIADDR/p2p/ID...")
		os.Exit(2)
	}
	opened := 0
	for _, s := range flag.Args() {
		addr, err := ma.NewMultiaddr(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "outsider:", err)
			os.Exit(2)
		}
		info, err := peer.AddrInfoFromP2pAddr(addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "outsider:", err)
			os.Exit(2)
		}
		transport := "tcp"
		if strings.Contains(s, "/quic") {
			transport = "quic"
		}
		for _, p := range protocols {
			if try(*info, p, *timeout) {
				fmt.Printf("OPENED  %s over %s to %s\n", p, transport, info.ID)
				opened++
			} else {
				fmt.Printf("refused %s over %s to %s\n", p, transport, info.ID)
			}
		}
	}
	if opened > 0 {
		fmt.Printf("%d streams opened by a host outside the roster\n", opened)
		os.Exit(1)
	}
}

// try opens a stream of p with a fresh identity each time (so one refusal
// does not taint the next attempt) and reports whether the stream opened
// and the node answered the protocol negotiation.
func try(info peer.AddrInfo, p protocol.ID, timeout time.Duration) bool {
	h, err := libp2p.New(libp2p.NoListenAddrs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "outsider:", err)
		os.Exit(2)
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := h.Connect(ctx, info); err != nil {
		return false
	}
	s, err := h.NewStream(ctx, info.ID, p)
	if err != nil {
		return false
	}
	defer s.Reset()
	// A handler that checks the roster resets the stream at once: a read
	// then fails. A handler that accepted waits for the request instead.
	_ = s.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, err = s.Read(make([]byte, 1))
	return err == nil || os.IsTimeout(err) || strings.Contains(err.Error(), "deadline")
}
