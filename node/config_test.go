package node

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestConfigRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c := testConfig()
	c.RepairGrace = 90 * time.Second
	c.KeepRecoveryKey = true
	c.MemoryLimit = 64 << 20
	c.PageCache = true
	c.EC = "2+1"
	if err := SaveConfig(dir, c); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, ConfigFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config file: %v %v", fi, err)
	}
	got, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
	}
}

func TestConfigDefaultsAndUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte("heartbeat = \"1s\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Heartbeat = time.Second
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte("hartbeat = \"1s\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(dir); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("misspelt key: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for name, edit := range map[string]func(*Config){
		"no listen":      func(c *Config) { c.Listen = nil },
		"websocket":      func(c *Config) { c.Listen = []string{"/ip4/0.0.0.0/tcp/1/ws"} },
		"public api":     func(c *Config) { c.API = "0.0.0.0:4080" },
		"bad ec":         func(c *Config) { c.EC = "4-2" },
		"zero grace":     func(c *Config) { c.RepairGrace = 0 },
		"odd heartbeat":  func(c *Config) { c.Heartbeat = 7 * time.Second },
		"zero heartbeat": func(c *Config) { c.Heartbeat = 0 },
	} {
		c := DefaultConfig()
		edit(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := testConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}
