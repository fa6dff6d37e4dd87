package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"respaldo/node/api"
	"respaldo/node/roster"
)

func newOperatorCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "operator",
		Short: "Add or remove operator keys (the keys that sign the mesh's roster)",
		Long: `An operator key signs the roster: who is admitted, revoked or renewed. Keep at least
two, on different people's machines and off the always-on servers, so that a key on a
seized or stolen machine can be removed with another (docs/seizure.md).`,
	}
	cmd.AddCommand(newOperatorAddCommand(g), newOperatorRemoveCommand(g))
	return cmd
}

func newOperatorAddCommand(g *globals) *cobra.Command {
	var keyOut, opKey string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "add --key-out FILE",
		Short: "Make a new operator key and add it to the mesh's operators",
		Long: `operator add makes a new operator key here, in this command, writes it to FILE (mode
0600; an existing file is never overwritten), and asks the running node to append an
add-operator entry for its public half, signed with the node's operator key or
--operator-key. The new key's private half never reaches the node. Carry FILE to the
person who will keep it (a USB stick), and delete it here; they use it with
--operator-key on any node, or as DIR/operator.key on their own.`,
		Example: `  respaldo operator add --key-out /media/usb/operator-ana.key`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keyOut == "" {
				return errors.New("operator add: where should the new key go? (--key-out FILE, e.g. on a USB stick)")
			}
			req := api.OperatorAddRequest{}
			var err error
			if req.OperatorKey, err = operatorKey(opKey); err != nil {
				return err
			}
			key, err := roster.GenerateOperatorKey(rand.Reader)
			if err != nil {
				return fmt.Errorf("operator add: %w", err)
			}
			if err := writeOperatorKey(keyOut, key); err != nil {
				return err
			}
			req.PublicKey = key.Public().String()
			res, ok, err := call(cmd.Context(), g, asJSON, func(c *api.Client, ctx context.Context) (api.OperatorResult, error) {
				return c.OperatorAdd(ctx, req)
			})
			if err != nil {
				// Not an operator: the file is of no use, and a key lying
				// around is one more thing to lose.
				if rmErr := os.Remove(keyOut); rmErr == nil {
					return fmt.Errorf("%w (the new key was not added; %s removed)", err, keyOut)
				}
				return err
			}
			if !ok {
				return nil
			}
			_, err = fmt.Fprintf(g.stdout, "added operator key %s, written to %s (mode 0600)\noperators now: %s\n",
				res.Fingerprint, keyOut, strings.Join(res.Operators, ", "))
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&keyOut, "key-out", "", "file to write the new operator key to (0600; must not exist)")
	f.StringVar(&opKey, "operator-key", "", "operator key file that signs the entry, for a node that holds none")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newOperatorRemoveCommand(g *globals) *cobra.Command {
	var opKey string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "remove FINGERPRINT",
		Short: "Remove an operator key (one on a seized or stolen machine)",
		Long: `operator remove appends a remove-operator entry for the operator key with that
fingerprint (the SIGNED BY column of 'respaldo roster'), signed with another operator
key (the node's, or --operator-key), and spreads it: from then on every node refuses
what the removed key signs. Entries it signed before stay; revoke the machines it
admitted that you do not know. The last operator key cannot be removed.`,
		Example: `  respaldo operator remove 3f9a0c1d2e4b5a69 --operator-key /media/usb/operator-ana.key`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := api.OperatorRemoveRequest{Fingerprint: args[0]}
			var err error
			if req.OperatorKey, err = operatorKey(opKey); err != nil {
				return err
			}
			res, ok, err := call(cmd.Context(), g, asJSON, func(c *api.Client, ctx context.Context) (api.OperatorResult, error) {
				return c.OperatorRemove(ctx, req)
			})
			if !ok {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "removed operator key %s\noperators now: %s\n", res.Fingerprint, strings.Join(res.Operators, ", "))
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&opKey, "operator-key", "", "operator key file that signs the entry, for a node that holds none")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// writeOperatorKey writes k to path as an operator key file (64 hex digits
// of its seed, as DIR/operator.key), mode 0600, never over an existing file.
func writeOperatorKey(path string, k roster.OperatorKey) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("operator add: %s exists; choose a new file (an operator key is never overwritten)", path)
	}
	if err != nil {
		return fmt.Errorf("operator add: %w", err)
	}
	seed := k.Seed()
	_, err = f.Write([]byte(hex.EncodeToString(seed[:]) + "\n"))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("operator add: writing %s: %w", path, err)
	}
	return nil
}
