// Command respaldo is the one binary of the respaldo mesh: the node daemon,
// the member commands and the operator commands. See README.md.
package main

import (
	"os"

	"respaldo/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
