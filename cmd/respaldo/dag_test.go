package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// touchSources reads every Go file of the module. go test caches a result
// by the files a test opens, not by what a child process (go list) reads,
// so without this a changed import could pass on a cached result.
func touchSources(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir("../..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".go") || d.Name() == "go.mod") {
			_, err = os.ReadFile(p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// allowed lists, for each package of ours, the packages of ours it may depend
// on, directly or not (DESIGN.md, "Packages"). The imports must form a DAG
// that points downwards: a package missing here may not be imported by a
// listed one unless it is listed as allowed.
var allowed = map[string][]string{
	"respaldo/erasure":        {},
	"respaldo/crypto":         {},
	"respaldo/dht":            {"respaldo/crypto"},
	"respaldo/node/roster":    {"respaldo/crypto"},
	"respaldo/node/mesh":      {"respaldo/node/roster", "respaldo/crypto"},
	"respaldo/node/store":     {"respaldo/erasure"},
	"respaldo/node/shard":     {"respaldo/erasure", "respaldo/crypto", "respaldo/node/store"},
	"respaldo/node/placement": {"respaldo/erasure", "respaldo/node/mesh", "respaldo/node/roster", "respaldo/crypto"},
	// node/repair, the pure repair planner, imports erasure, placement and
	// mesh (the peer table's types); roster comes through mesh, and crypto
	// only if roster ever takes it up.
	"respaldo/node/repair":    {"respaldo/erasure", "respaldo/node/placement", "respaldo/node/mesh", "respaldo/node/roster", "respaldo/crypto"},
	"respaldo/node/backup":    {"respaldo/crypto", "respaldo/erasure"},
	"respaldo/node/api":       {"respaldo/crypto", "respaldo/node/backup", "respaldo/erasure"},
	"respaldo/node/meshblobs": {"respaldo/erasure", "respaldo/crypto", "respaldo/node/store", "respaldo/node/shard", "respaldo/node/placement", "respaldo/node/mesh", "respaldo/node/roster"},
}

// forbidden lists outside modules a package must not reach: pure packages
// stay off the network and out of the database.
var forbidden = map[string][]string{
	"respaldo/erasure":     {"github.com/libp2p/", "github.com/dgraph-io/badger", "net/http"},
	"respaldo/crypto":      {"github.com/libp2p/", "github.com/dgraph-io/badger", "net/http"},
	"respaldo/node/backup": {"github.com/libp2p/", "github.com/dgraph-io/badger", "net/http"},
	"respaldo/node/store":  {"github.com/libp2p/"}, // badger itself pulls in net/http
	"respaldo/node/api":    {"github.com/libp2p/", "github.com/dgraph-io/badger"},
	"respaldo/node/repair": {"github.com/libp2p/", "github.com/dgraph-io/badger", "net"}, // net, net/http, net/netip…
}

// written lists packages of the table that exist: for them "not written
// yet" is a failure, so a move or a misspelt key cannot switch their check
// off.
var written = []string{"respaldo/node/repair"}

func deps(t *testing.T, pkg string) ([]string, bool) {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "is not in std") || strings.Contains(string(out), "cannot find package") ||
			strings.Contains(string(out), "no Go files") || strings.Contains(string(out), "matched no packages") {
			return nil, false // not written yet
		}
		t.Fatalf("go list %s: %v\n%s", pkg, err, out)
	}
	return strings.Fields(string(out)), true
}

func TestPackageDAG(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	touchSources(t)
	for _, pkg := range written {
		if _, listed := allowed[pkg]; !listed {
			t.Errorf("%s is in written but not in allowed", pkg)
		}
	}
	for pkg, ok := range allowed {
		ds, exists := deps(t, pkg)
		if !exists {
			if slices.Contains(written, pkg) {
				t.Errorf("%s is not found, so its imports go unchecked", pkg)
			}
			continue
		}
		for _, d := range ds {
			if d == pkg {
				continue
			}
			if strings.HasPrefix(d, "respaldo/") && !slices.Contains(ok, d) {
				t.Errorf("%s depends on %s, which DESIGN.md does not allow; move the type instead", pkg, d)
			}
			for _, f := range forbidden[pkg] {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s: it must stay off the network (and, if pure, the database)", pkg, d)
				}
			}
		}
	}
}

// TestCLIOnlyThroughAPI checks that client commands cannot reach node
// internals other than through node/api, node (to start one) and what those
// pull in; cli must never import the shard protocol or stores directly.
func TestCLIDoesNotImportProtocols(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	touchSources(t)
	out, err := exec.Command("go", "list", "-f", "{{join .Imports \"\\n\"}}", "respaldo/cli").CombinedOutput()
	if err != nil {
		t.Fatalf("go list respaldo/cli: %v\n%s", err, out)
	}
	for _, imp := range strings.Fields(string(out)) {
		switch imp {
		case "respaldo/node/shard", "respaldo/dht", "respaldo/node/mesh":
			t.Errorf("cli imports %s directly; go through node/api or node", imp)
		}
	}
}
