package node

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestScheduleBackoff(t *testing.T) {
	for _, tc := range []struct {
		failures int
		interval time.Duration
		want     time.Duration
	}{
		{0, time.Hour, 0},
		{1, time.Hour, time.Minute},
		{2, time.Hour, 2 * time.Minute},
		{4, time.Hour, 8 * time.Minute},
		{6, time.Hour, 32 * time.Minute},
		{7, time.Hour, time.Hour},
		{1000, time.Hour, time.Hour},
		{1, time.Minute, time.Minute},
		{3, time.Minute, time.Minute},
		{3, 90 * time.Second, 90 * time.Second},
		{1 << 30, 24 * time.Hour, 24 * time.Hour},
	} {
		if got := scheduleBackoff(tc.failures, tc.interval); got != tc.want {
			t.Errorf("backoff(%d, %v) = %v, want %v", tc.failures, tc.interval, got, tc.want)
		}
	}
}

func TestScheduleDue(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	h := time.Hour
	for _, tc := range []struct {
		name     string
		interval time.Duration
		r        scheduleRecord
		want     time.Time
	}{
		{"never ran", h, scheduleRecord{}, now},
		{"ran 10 min ago", h, scheduleRecord{LastRun: ago(10 * time.Minute), LastSuccess: ago(10 * time.Minute)}, now.Add(50 * time.Minute)},
		{"ran an interval ago", h, scheduleRecord{LastRun: ago(h), LastSuccess: ago(h)}, now},
		{"overdue", h, scheduleRecord{LastRun: ago(5 * h), LastSuccess: ago(5 * h)}, ago(4 * h)},
		{"interrupted run, not a failure", h, scheduleRecord{LastRun: ago(time.Minute), LastSuccess: ago(2 * h), Error: "interrupted"}, ago(h)},
		{"first run failed", h, scheduleRecord{LastRun: ago(30 * time.Second), Failures: 1, Error: "x"}, now.Add(30 * time.Second)},
		{"first run failed long ago", h, scheduleRecord{LastRun: ago(2 * time.Minute), Failures: 1}, ago(time.Minute)},
		{"third failure", h, scheduleRecord{LastRun: ago(time.Minute), LastSuccess: ago(3 * h), Failures: 3}, now.Add(3 * time.Minute)},
		{"backoff at most the interval", h, scheduleRecord{LastRun: ago(time.Minute), LastSuccess: ago(30 * h), Failures: 20}, now.Add(59 * time.Minute)},
		{"success later than backoff", h, scheduleRecord{LastRun: ago(time.Minute), LastSuccess: ago(30 * time.Minute), Failures: 1}, now.Add(30 * time.Minute)},
		{"clock set back: success in the future", h, scheduleRecord{LastRun: now.Add(h), LastSuccess: now.Add(h)}, now},
		{"clock set back: failure in the future", h, scheduleRecord{LastRun: now.Add(h), LastSuccess: ago(2 * h), Failures: 2}, ago(h)},
		{"daily", 24 * h, scheduleRecord{LastRun: ago(23 * h), LastSuccess: ago(23 * h)}, now.Add(h)},
	} {
		if got := scheduleDue(tc.interval, tc.r, now); !got.Equal(tc.want) {
			t.Errorf("%s: due %v, want %v", tc.name, got, tc.want)
		}
	}
}

func testSchedules() []Schedule {
	return []Schedule{
		{Name: "docs", Paths: []string{"/home/ana/docs", "/etc"}, Excludes: []string{"*.tmp", "/home/ana/docs/cache"},
			Tags: []string{"daily", "docs"}, Interval: time.Hour, KeepLast: 5, KeepDaily: 7, KeepWeekly: 4},
		{Name: "db_dump-2.x", Paths: []string{"/var/backups/db"}, Interval: 24 * time.Hour},
	}
}

func TestConfigSchedulesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c := testConfig()
	c.LimitUpload = 2 << 20
	c.Schedules = testSchedules()
	if err := SaveConfig(dir, c); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
	}
	b, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	for _, want := range []string{"limit_upload = 2097152", "[[schedule]]", "interval = '1h0m0s'", "keep_daily = 7"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config.toml lacks %q:\n%s", want, b)
		}
	}
}

// The example of README.md and docs/daemon.md, as a user writes it.
func TestConfigSchedulesFromTOML(t *testing.T) {
	dir := t.TempDir()
	toml := `
limit_upload = 1048576

[[schedule]]
name = "home"
paths = ["/home/ana"]
excludes = ["*.tmp", "/home/ana/.cache"]
tags = ["laptop"]
interval = "1h"
keep_last = 24
keep_daily = 7
keep_weekly = 8

[[schedule]]
name = "photos"
paths = ["/srv/photos"]
interval = "24h"
`
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.LimitUpload = 1 << 20
	want.Schedules = []Schedule{
		{Name: "home", Paths: []string{"/home/ana"}, Excludes: []string{"*.tmp", "/home/ana/.cache"}, Tags: []string{"laptop"},
			Interval: time.Hour, KeepLast: 24, KeepDaily: 7, KeepWeekly: 8},
		{Name: "photos", Paths: []string{"/srv/photos"}, Interval: 24 * time.Hour},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}

	for _, tc := range []struct{ toml, key string }{
		{"[[schedule]]\nname = \"a\"\npaths = [\"/x\"]\n", "schedule.a.interval"},
		{"[[schedule]]\nname = \"a\"\npaths = [\"/x\"]\ninterval = \"hourly\"\n", "schedule.a.interval"},
		{"[[schedule]]\nname = \"a\"\npaths = [\"/x\"]\ninterval = \"1h\"\nkeep_monthly = 3\n", "keep_monthly"},
		{"[[schedule]]\nname = \"a\"\npaths = [\"x\"]\ninterval = \"1h\"\n", "schedule.a.paths"},
		{"limit_upload = \"fast\"\n", "limit_upload"},
		{"limit_upload = 1.5\n", "limit_upload"},
		{"limit_upload = \"64KiB/s\"\n", "limit_upload"},
	} {
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(tc.toml), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadConfig(dir)
		t.Log(err)
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.key) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: %v (want one line naming %s)", tc.toml, err, tc.key)
		}
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "1048576": 1 << 20, "2MiB/s": 2 << 20, "500KiB": 500 << 10, "10MB": 10e6, "10 MB/s": 10e6,
		"1.5MiB/s": 3 << 19, "128K": 128 << 10, "1G/s": 1 << 30, "300B/s": 300, " 2MiB ": 2 << 20,
	} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "fast", "-1MiB", "2MiB/h", "2 Mbit/s", "NaN", "1e300MiB"} {
		if got, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) = %d, want an error", in, got)
		}
	}
	// A rate in config.toml may be a string too; it is saved as bytes/s.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte("limit_upload = \"2MiB/s\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadConfig(dir); err != nil || c.LimitUpload != 2<<20 {
		t.Fatalf("limit_upload \"2MiB/s\": %d, %v", c.LimitUpload, err)
	}
}

func TestConfigValidateSchedules(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		key  string
	}{
		{"negative limit", func(c *Config) { c.LimitUpload = -1 }, "limit_upload"},
		{"limit too low", func(c *Config) { c.LimitUpload = 64 << 10 }, "limit_upload"},
		{"no name", func(c *Config) { c.Schedules[0].Name = "" }, "schedule[0].name"},
		{"name with a slash", func(c *Config) { c.Schedules[1].Name = "a/b" }, "schedule[1].name"},
		{"long name", func(c *Config) { c.Schedules[0].Name = strings.Repeat("x", 65) }, "schedule[0].name"},
		{"twice the name", func(c *Config) { c.Schedules[1].Name = "docs" }, "schedule[1].name"},
		{"no paths", func(c *Config) { c.Schedules[0].Paths = nil }, "schedule.docs.paths"},
		{"relative path", func(c *Config) { c.Schedules[0].Paths[1] = "etc" }, "schedule.docs.paths"},
		{"bad exclude", func(c *Config) { c.Schedules[0].Excludes = []string{"[x"} }, "schedule.docs.excludes"},
		{"empty tag", func(c *Config) { c.Schedules[0].Tags = []string{""} }, "schedule.docs.tags"},
		{"no interval", func(c *Config) { c.Schedules[0].Interval = 0 }, "schedule.docs.interval"},
		{"short interval", func(c *Config) { c.Schedules[0].Interval = 59 * time.Second }, "schedule.docs.interval"},
		{"negative keep_last", func(c *Config) { c.Schedules[0].KeepLast = -1 }, "schedule.docs.keep_last"},
		{"negative keep_daily", func(c *Config) { c.Schedules[0].KeepDaily = -1 }, "schedule.docs.keep_daily"},
		{"negative keep_weekly", func(c *Config) { c.Schedules[1].KeepWeekly = -2 }, "schedule.db_dump-2.x.keep_weekly"},
	} {
		c := testConfig()
		c.Schedules = testSchedules()
		tc.edit(&c)
		err := c.Validate()
		t.Log(err)
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), ": "+tc.key+": ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v (want one line naming %s)", tc.name, err, tc.key)
		}
	}
	c := testConfig()
	c.Schedules = testSchedules()
	c.Schedules[0].Interval = MinScheduleInterval
	c.LimitUpload = 128 << 10
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
