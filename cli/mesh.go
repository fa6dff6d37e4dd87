package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"respaldo/node"
)

func newMeshCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mesh",
		Short: "Create a mesh",
	}
	cmd.AddCommand(newMeshCreateCommand(g))
	return cmd
}

func newMeshCreateCommand(g *globals) *cobra.Command {
	var nf nodeFlags
	var zone, keyOut string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Start a new mesh with this machine as its first storage node",
		Long: `mesh create sets up --data DIR as the first node of a new mesh: it makes the
operator key (DIR/operator.key: it admits and revokes nodes; keep a copy offline and
consider moving it off always-on servers), the roster, this node's identity (role
storage, in --zone), and a new member whose recovery key is shown once.

The recovery key is the only way to read the member's backups from anywhere: write
it down or store it in a password manager now. With --recovery-key-out F it is
written to F (mode 0600) instead of the terminal; it never goes to a log.

Then run the node with 'respaldo node' and invite other machines with 'respaldo invite'.`,
		Example: `  respaldo --data /var/lib/respaldo mesh create --zone madrid
  respaldo mesh create --zone lab --listen /ip4/127.0.0.1/tcp/0 --api 127.0.0.1:0 --recovery-key-out rk.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := node.DefaultConfig()
			nf.apply(&cfg)
			if keyOut != "" {
				if _, err := os.Stat(keyOut); !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("--recovery-key-out %s: the file exists; choose a new one so no key is overwritten", keyOut)
				}
			}
			if err := os.MkdirAll(g.dataDir, 0o700); err != nil {
				return err
			}
			c, err := node.CreateMesh(cmd.Context(), g.dataDir, cfg, zone)
			if err != nil {
				return err
			}
			device, _ := os.Hostname()
			if device == "" {
				device = "node"
			}
			rk, err := node.SetupMember(g.dataDir, device)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "new mesh %s\n  this node: %s (storage)\n  operator key: %s (fingerprint %s)\n",
				c.MeshID, c.PeerID, node.OperatorFile, c.Operator)
			if keyOut != "" {
				if err := writeSecretFile(keyOut, rk.Reveal()+"\n"); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "  recovery key: written to %s (mode 0600)\n", keyOut)
			} else {
				fmt.Fprintf(g.stdout, "\nRECOVERY KEY (shown once; it reads every backup of this member from anywhere):\n\n  %s\n\n"+
					"Write it down or put it in a password manager now. Anyone with it can read the backups.\n\n", rk.Reveal())
			}
			fmt.Fprintf(g.stdout, "next: respaldo --data %s node\n", g.dataDir)
			return nil
		},
	}
	nf.register(cmd.Flags())
	cmd.Flags().StringVar(&zone, "zone", "default", "this node's failure zone (a site, a city)")
	cmd.Flags().StringVar(&keyOut, "recovery-key-out", "", "write the recovery key to this new file (mode 0600) instead of the terminal")
	return cmd
}

// writeSecretFile creates p (which must not exist) readable by the owner only.
func writeSecretFile(p, s string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
