package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"respaldo/node"
)

func TestLimitUploadFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int64
	}{
		{nil, 777}, // not given: the config's value stays
		{[]string{"--limit-upload", "2MiB/s"}, 2 << 20},
		{[]string{"--limit-upload=500KiB"}, 500 << 10},
		{[]string{"--limit-upload", "10MB"}, 10e6},
		{[]string{"--limit-upload", "1048576"}, 1 << 20},
		{[]string{"--limit-upload", "0"}, 0},
	} {
		var f nodeFlags
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		f.register(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		cfg := node.DefaultConfig()
		cfg.LimitUpload = 777
		f.apply(&cfg)
		if cfg.LimitUpload != tc.want {
			t.Errorf("%v: limit %d, want %d", tc.args, cfg.LimitUpload, tc.want)
		}
	}
	for _, bad := range []string{"fast", "-1MiB", "64KiB/s", "2 Mbit/s"} {
		var f nodeFlags
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		fs.SetOutput(&bytes.Buffer{})
		f.register(fs)
		if err := fs.Parse([]string{"--limit-upload", bad}); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("--limit-upload %s: %v", bad, err)
		}
	}
}

// mesh create keeps --limit-upload in config.toml, as bytes per second.
func TestMeshCreateLimitUpload(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := Main([]string{"--data", dir, "mesh", "create", "--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0",
		"--limit-upload", "2MiB/s", "--recovery-key-out", filepath.Join(t.TempDir(), "rk.txt")}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("mesh create: exit %d\n%s%s", code, out.String(), errb.String())
	}
	cfg, err := node.LoadConfig(dir)
	if err != nil || cfg.LimitUpload != 2<<20 {
		t.Fatalf("config: limit_upload %d, %v", cfg.LimitUpload, err)
	}
	errb.Reset()
	code = Main([]string{"--data", t.TempDir(), "mesh", "create", "--limit-upload", "fast"}, strings.NewReader(""), &out, &errb)
	if msg := strings.TrimRight(errb.String(), "\n"); code != 1 || !strings.Contains(msg, "--limit-upload") || strings.Contains(msg, "\n") {
		t.Fatalf("--limit-upload fast: exit %d, stderr %q", code, errb.String())
	}
}
