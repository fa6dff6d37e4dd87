package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the scripts run `respaldo` as a real process: testscript
// re-executes this test binary as the command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"respaldo": func() { os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs cli/testdata/script/*.txtar: the command-line contract
// end to end, with daemons as background processes on 127.0.0.1.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile": waitFile,
			"jsonget":  jsonGet,
		},
	})
}

// waitfile FILE waits (scaled by RESPALDO_TEST_TIMESCALE) for FILE to exist.
func waitFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	limit := 20 * time.Second
	if f, err := strconv.ParseFloat(os.Getenv("RESPALDO_TEST_TIMESCALE"), 64); err == nil && f > 0 {
		limit = time.Duration(float64(limit) * f)
	}
	p := ts.MkAbs(args[0])
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(p); err == nil {
			if neg {
				ts.Fatalf("%s exists", filepath.Base(p))
			}
			return
		}
	}
	if !neg {
		ts.Fatalf("%s did not appear within %v", args[0], limit)
	}
	fmt.Fprintln(ts.Stdout(), "absent as expected")
}

// jsonget FILE KEY VAR sets the environment variable VAR to the string
// KEY of the JSON object in FILE (e.g. a peer ID from status --json).
func jsonGet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: jsonget FILE KEY VAR")
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &obj); err != nil {
		ts.Fatalf("jsonget: %v", err)
	}
	v, ok := obj[args[1]].(string)
	if !ok {
		ts.Fatalf("jsonget: no string %q in %s", args[1], args[0])
	}
	ts.Setenv(args[2], v)
}
