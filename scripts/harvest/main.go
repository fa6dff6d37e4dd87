// Command harvest plays an admitted storage node that tries to collect the
// mesh's ciphertext: with the identity and store of a stopped node (its data
// folder), it takes every stripe that node holds a shard of and asks each
// address given for every other shard of those stripes, with no proof (a
// co-holder outside repair) and with a read proof made from another member's
// keys. Holders must refuse every request: a shard is served only to its
// stripe's owner, or to a co-holder while the stripe is being repaired. It
// exits 0 only if no shard came back, 1 if any did, 2 on a usage or setup
// error, and prints one summary line per holder. With -control-key (the
// owner's recovery key) the proofs are the owner's, and holders serve: the
// positive control that shows the probe sees a served shard.
//
//	harvest -data DIR /ip4/127.0.0.1/tcp/4001/p2p/12D3…
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/peer"

	"respaldo/crypto"
	"respaldo/erasure"
	"respaldo/node"
	"respaldo/node/shard"
	"respaldo/node/store"
)

func main() {
	data := flag.String("data", "", "data folder of a stopped, admitted storage node")
	timeout := flag.Duration("timeout", 10*time.Second, "time allowed for each request")
	control := flag.String("control-key", "", "positive control: prove reads with the recovery key in this file (the owner's), which holders must serve")
	flag.Parse()
	if *data == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: harvest -data DIR MULTIADDR/p2p/ID...")
		os.Exit(2)
	}
	code, err := run(*data, *timeout, *control, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "harvest:", err)
	}
	os.Exit(code)
}

func run(dir string, timeout time.Duration, control string, addrs []string) (int, error) {
	ctx := context.Background()
	key, err := node.LoadOrCreateIdentity(dir)
	if err != nil {
		return 2, err
	}
	st, err := store.Open(filepath.Join(dir, node.StoreDir), store.DefaultOptions())
	if err != nil {
		return 2, err
	}
	var stripes []*erasure.Descriptor
	seen := map[erasure.StripeID]bool{}
	err = st.List(ctx, func(si store.ShardInfo) error {
		if seen[si.Ref.Stripe] {
			return nil
		}
		seen[si.Ref.Stripe] = true
		d, err := st.Descriptor(ctx, si.Ref.Stripe)
		if err == nil {
			stripes = append(stripes, d)
		}
		return nil
	})
	st.Close()
	if err != nil {
		return 2, err
	}
	if len(stripes) == 0 {
		return 2, errors.New("the node holds no shard: back something up first")
	}
	other, err := crypto.GenerateRecoveryKey()
	if err != nil {
		return 2, err
	}
	if control != "" {
		b, err := os.ReadFile(control)
		if err != nil {
			return 2, err
		}
		if other, err = crypto.ParseRecoveryKey(strings.TrimSpace(string(b))); err != nil {
			return 2, fmt.Errorf("-control-key: %w", err)
		}
	}
	forger := other.Member()
	h, err := libp2p.New(libp2p.Identity(key), libp2p.ListenAddrs())
	if err != nil {
		return 2, err
	}
	defer h.Close()
	self := h.ID().String()
	got := 0
	for _, a := range addrs {
		ai, err := peer.AddrInfoFromString(a)
		if err != nil {
			return 2, err
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err = h.Connect(cctx, *ai)
		cancel()
		if err != nil {
			return 2, fmt.Errorf("connect %s: %w", a, err)
		}
		var asked, denied, other int
		for _, d := range stripes {
			secret, err := forger.ReadSecret(crypto.StripeNonce(d.Secrets.Nonce))
			if err != nil {
				return 2, err
			}
			for i := range d.Shards {
				for _, withProof := range []bool{false, true} {
					asked++
					rctx, cancel := context.WithTimeout(ctx, timeout)
					s, err := h.NewStream(rctx, ai.ID, shard.ProtocolID)
					if err == nil {
						if withProof {
							_, err = shard.Get(rctx, s, self, ai.ID.String(), d, i, secret, time.Now())
						} else {
							_, err = shard.GetAuthorized(rctx, s, d, i)
						}
						_ = s.Close()
					}
					cancel()
					switch {
					case err == nil:
						got++
						fmt.Printf("GOT shard %d of stripe %v from %s\n", i, d.ID(), ai.ID)
					case errors.Is(err, shard.ErrDenied):
						denied++
					default:
						other++ // not held there, or the stream refused
					}
				}
			}
		}
		fmt.Printf("%s: %d requests for shards of %d stripes: %d denied, %d refused otherwise, %d served\n",
			ai.ID, asked, len(stripes), denied, other, asked-denied-other)
	}
	if got > 0 {
		return 1, fmt.Errorf("%d shards were served to a node that is not their owner", got)
	}
	return 0, nil
}
