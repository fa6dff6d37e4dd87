package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestDemoRestoresAfterLosingNodes(t *testing.T) {
	cases := []struct {
		args     []string
		lost     int
		wantCode int
	}{
		{[]string{"demo", "--size", "6MiB", "--seed", "3", "--json"}, 2, ExitOK},
		{[]string{"demo", "--size", "3MiB", "--seed", "4", "--nodes", "3", "--json"}, 1, ExitOK},
		{[]string{"demo", "--size", "3MiB", "--seed", "5", "--nodes", "9", "--ec", "6+3", "--json"}, 3, ExitOK},
		{[]string{"demo", "--size", "1MiB", "--nodes", "1", "--json"}, 0, ExitOK},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args[1:], " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(c.args, strings.NewReader(""), &out, &errb)
			if code != c.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, c.wantCode, errb.String())
			}
			var rep demoReport
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatalf("--json output does not parse: %v\n%s", err, out.String())
			}
			if !rep.Identical || len(rep.Lost) != c.lost || rep.Files == 0 {
				t.Fatalf("report %+v", rep)
			}
			// A snapshot and a catalog blob are about 12 KiB, whatever the size.
			if rep.StoredBytes > 4<<20 && rep.RebackupBytes > rep.StoredBytes/100 {
				t.Errorf("a backup of unchanged data stored %d bytes, the first %d", rep.RebackupBytes, rep.StoredBytes)
			}
		})
	}
}

func TestDemoBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--ec", "4+300"},
		{"demo", "--ec", "banana"},
		{"demo", "--nodes", "0"},
		{"demo", "--size", "lots"},
		{"demo", "--source", "/does/not/exist"},
	} {
		var out, errb bytes.Buffer
		code := Main(args, strings.NewReader(""), &out, &errb)
		msg := strings.TrimSpace(errb.String())
		if code != ExitError || msg == "" || strings.Contains(msg, "\n") || strings.Contains(msg, "goroutine") {
			t.Errorf("%v: exit %d, stderr %q: want exit 1 and one line", args, code, msg)
		}
	}
}
