package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"respaldo/crypto"
	"respaldo/node"
)

func newJoinCommand(g *globals) *cobra.Command {
	var nf nodeFlags
	var keyFile, keyOut string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "join INVITE|-",
		Short: "Set this machine up as a node of a mesh, from an invite, and run it",
		Long: `join sets --data DIR up for the mesh of INVITE and runs the node in the
foreground: it trades the invite's single-use token for a roster entry signed by the
mesh's operator key (zone and role come from the invite), then serves like
'respaldo node'. Later starts are 'respaldo node'.

The node belongs to a new member, whose recovery key is shown once (or written to
--recovery-key-out F, mode 0600), or, with --recovery-key-file F, to the existing
member of that key (a new device of the same person or organisation).`,
		Example: `  respaldo --data /var/lib/respaldo join respaldo1…
  respaldo join respaldo1… --recovery-key-file ~/recovery-key.txt
  respaldo join - < invite.txt`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			text := args[0]
			if text == "-" { // the invite on standard input, as scripts pass it
				b, err := io.ReadAll(io.LimitReader(g.stdin, 64<<10))
				if err != nil {
					return err
				}
				text = string(b)
			}
			inv, err := node.ParseInvite(text)
			if err != nil {
				return err
			}
			if keyFile != "" && keyOut != "" {
				return fmt.Errorf("give --recovery-key-file or --recovery-key-out, not both")
			}
			var rk crypto.RecoveryKey
			haveKey := keyFile != ""
			if haveKey {
				// Read as restore and the other commands read the flag
				// (comment lines allowed, errors naming the file).
				k, err := (&keySource{file: keyFile}).load()
				if err != nil {
					return err
				}
				rk, _ = k.Key()
			}
			if keyOut != "" {
				if _, err := os.Stat(keyOut); !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("--recovery-key-out %s: the file exists; choose a new one so no key is overwritten", keyOut)
				}
			}
			cfg := node.DefaultConfig()
			if _, err := os.Stat(g.dataDir); err == nil {
				if c, err := node.LoadConfig(g.dataDir); err == nil {
					cfg = c
				}
			}
			nf.apply(&cfg)
			logger := newLogger(g, verbose)
			node.ApplyMemoryLimit(cfg.MemoryLimit)
			n, err := node.Join(cmd.Context(), g.dataDir, cfg, inv, logger)
			if err != nil {
				return err
			}
			if err := setupJoinedMember(g, rk, haveKey, keyOut); err != nil {
				n.Close()
				return err
			}
			return serveNode(cmd.Context(), g, n, cfg, logger)
		},
	}
	nf.register(cmd.Flags())
	cmd.Flags().StringVar(&keyFile, "recovery-key-file", "", "join as the member of this recovery key (a file holding it)")
	cmd.Flags().StringVar(&keyOut, "recovery-key-out", "", "write the new member's recovery key to this new file (mode 0600)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log debug detail")
	return cmd
}

// setupJoinedMember gives the joined node its member: the one of rk, or a new
// one whose recovery key is shown once. A node that already has a member
// (join run again on the same folder) keeps it.
func setupJoinedMember(g *globals, rk crypto.RecoveryKey, haveKey bool, keyOut string) error {
	device, _ := os.Hostname()
	if device == "" {
		device = "node"
	}
	if haveKey {
		err := node.AdoptMember(g.dataDir, rk, device)
		if errors.Is(err, node.ErrMemberExists) {
			return nil
		}
		return err
	}
	rk, err := node.SetupMember(g.dataDir, device)
	if errors.Is(err, node.ErrMemberExists) {
		return nil
	}
	if err != nil {
		return err
	}
	if keyOut != "" {
		if err := writeSecretFile(keyOut, rk.Reveal()+"\n"); err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "recovery key of this node's new member: written to %s (mode 0600)\n", keyOut)
		return nil
	}
	fmt.Fprintf(g.stdout, "\nRECOVERY KEY of this node's new member (shown once; it reads every backup of this member from anywhere):\n\n  %s\n\n"+
		"Write it down or put it in a password manager now. Anyone with it can read the backups.\n\n", rk.Reveal())
	return nil
}
