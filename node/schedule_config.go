package node

import (
	"fmt"
	"path/filepath"
	"regexp"
	"time"
	"unicode/utf8"
)

// Schedule is one backup the node makes by itself, every Interval, once
// enough storage peers are reachable (schedule.go). It is a [[schedule]]
// table in config.toml.
type Schedule struct {
	// Name identifies the schedule in logs, status and the node's records
	// ("schedule/<name>"): letters, digits, '.', '_' and '-', at most 64.
	Name string
	// Paths are the absolute paths backed up.
	Paths []string
	// Excludes are glob patterns (filepath.Match) matched against each
	// name and absolute path, as respaldo backup --exclude.
	Excludes []string
	// Tags are given to every snapshot the schedule makes.
	Tags []string
	// Interval is the time from the start of one successful run to the
	// next; at least MinScheduleInterval.
	Interval time.Duration
	// KeepLast, KeepDaily and KeepWeekly are the retention policy applied
	// after each successful run, as respaldo forget --keep-last N
	// --keep-daily N --keep-weekly N; all 0: keep every snapshot.
	KeepLast, KeepDaily, KeepWeekly int
}

// MinScheduleInterval is the shortest Schedule.Interval.
const MinScheduleInterval = time.Minute

var scheduleName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// validateSchedules checks each schedule; bad is Validate's error maker,
// the key naming the schedule ("schedule.<name>.interval", or
// "schedule[i].name" while the name is the problem).
func validateSchedules(ss []Schedule, bad func(key, f string, a ...any) error) error {
	seen := map[string]bool{}
	for i, s := range ss {
		if !scheduleName.MatchString(s.Name) {
			return bad(fmt.Sprintf("schedule[%d].name", i), "%q: want 1 to 64 letters, digits, '.', '_' or '-'", s.Name)
		}
		if seen[s.Name] {
			return bad(fmt.Sprintf("schedule[%d].name", i), "%q is the name of another schedule", s.Name)
		}
		seen[s.Name] = true
		key := func(k string) string { return "schedule." + s.Name + "." + k }
		if len(s.Paths) == 0 {
			return bad(key("paths"), "no path")
		}
		for _, p := range s.Paths {
			if !filepath.IsAbs(p) {
				return bad(key("paths"), "%q is not an absolute path", p)
			}
		}
		for _, p := range s.Excludes {
			if _, err := filepath.Match(p, ""); err != nil {
				return bad(key("excludes"), "%q: %v", p, err)
			}
		}
		for _, t := range s.Tags {
			if t == "" || !utf8.ValidString(t) {
				return bad(key("tags"), "%q: a tag is non-empty UTF-8", t)
			}
		}
		if s.Interval < MinScheduleInterval {
			return bad(key("interval"), "%v is shorter than %v", s.Interval, MinScheduleInterval)
		}
		for _, k := range []struct {
			key string
			n   int
		}{{"keep_last", s.KeepLast}, {"keep_daily", s.KeepDaily}, {"keep_weekly", s.KeepWeekly}} {
			if k.n < 0 {
				return bad(key(k.key), "negative")
			}
		}
	}
	return nil
}

// fileSchedule is a [[schedule]] table of config.toml.
type fileSchedule struct {
	Name       string   `toml:"name"`
	Paths      []string `toml:"paths"`
	Excludes   []string `toml:"excludes,omitempty"`
	Tags       []string `toml:"tags,omitempty"`
	Interval   string   `toml:"interval"`
	KeepLast   int      `toml:"keep_last,omitempty"`
	KeepDaily  int      `toml:"keep_daily,omitempty"`
	KeepWeekly int      `toml:"keep_weekly,omitempty"`
}

func toFileSchedules(ss []Schedule) []fileSchedule {
	var out []fileSchedule
	for _, s := range ss {
		out = append(out, fileSchedule{
			Name: s.Name, Paths: s.Paths, Excludes: s.Excludes, Tags: s.Tags, Interval: s.Interval.String(),
			KeepLast: s.KeepLast, KeepDaily: s.KeepDaily, KeepWeekly: s.KeepWeekly,
		})
	}
	return out
}

func fromFileSchedules(fs []fileSchedule) ([]Schedule, error) {
	var out []Schedule
	for i, f := range fs {
		s := Schedule{
			Name: f.Name, Paths: f.Paths, Excludes: f.Excludes, Tags: f.Tags,
			KeepLast: f.KeepLast, KeepDaily: f.KeepDaily, KeepWeekly: f.KeepWeekly,
		}
		key := fmt.Sprintf("schedule[%d].interval", i)
		if scheduleName.MatchString(f.Name) {
			key = "schedule." + f.Name + ".interval"
		}
		if f.Interval == "" {
			return nil, fmt.Errorf("%w: %s: missing (a Go duration, e.g. \"1h\")", ErrInvalidConfig, key)
		}
		var err error
		if s.Interval, err = time.ParseDuration(f.Interval); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalidConfig, key, err)
		}
		out = append(out, s)
	}
	return out, nil
}
