package node

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	"github.com/pelletier/go-toml/v2"

	"respaldo/node/mesh"
	"respaldo/node/meshblobs"
	"respaldo/node/roster"
)

// ErrInvalidConfig is wrapped by every Config.Validate error; the message
// names the key and is one line, fit for the user.
var ErrInvalidConfig = errors.New("node: invalid configuration")

// Config is a node's configuration, kept in DIR/config.toml. Start from
// DefaultConfig, edit fields, Validate (Open and CreateMesh call it too).
// Zone and role are not here: they come from the roster.
type Config struct {
	// Listen are the TCP and QUIC v1 multiaddrs the host listens on.
	Listen []string
	// API is the host:port of the local HTTP API, on a loopback address;
	// port 0 picks one. (The API server arrives with node/api.)
	API string
	// EC is the erasure geometry "k+m". CreateMesh pins it in the roster's
	// genesis as the mesh default; elsewhere it is this node's choice for
	// its own new stripes.
	EC string
	// RepairGrace is how long a storage node may be unseen before its
	// shards are rebuilt elsewhere.
	RepairGrace time.Duration
	// Heartbeat is the period of heartbeats on the gossip topic; it is also
	// the peer table's availability unit, so 15 min must be a whole number
	// of heartbeats.
	Heartbeat time.Duration
	// KeepRecoveryKey: the node keeps the full member key (unattended
	// servers). Off by default.
	KeepRecoveryKey bool
	// MemoryLimit is the Go runtime's soft memory limit in bytes: 0 means
	// DefaultMemoryLimit, negative none (see ApplyMemoryLimit).
	MemoryLimit int64
	// CapacityBytes caps the bytes of shard files; 0: the filesystem
	// limits.
	CapacityBytes int64
	// PageCache writes and reads shard files through the page cache
	// instead of with direct I/O (store.Options.PageCache); off by default.
	PageCache bool
	// RelayService runs a circuit relay for members (data-centre nodes with
	// a public address).
	RelayService bool
	// NATPortMap asks the router for a port mapping (UPnP, NAT-PMP); off in
	// tests.
	NATPortMap bool
	// RecordAge is how long a head record stored in the DHT lives unless
	// it is put again; 0: 48 h (dht.DefaultConfig). Tests shorten it.
	RecordAge time.Duration
	// PruneGrace is how long a stripe that no kept snapshot needs stays
	// marked before a prune deletes it (forget --prune marks, a later
	// prune deletes what is still unneeded); longer than any backup runs.
	// 0: DefaultPruneGrace.
	PruneGrace time.Duration
	// HeadRepublish is how often the node puts back the head records it
	// stores; 0: an eighth of RecordAge (6 h by default).
	HeadRepublish time.Duration
	// LimitUpload caps the shard bytes this node sends when it backs up,
	// in bytes per second (--limit-upload); 0: no limit, else at least
	// meshblobs.MinUploadLimit.
	LimitUpload int64
	// Schedules are the backups the node makes by itself ([[schedule]]
	// in config.toml; schedule.go).
	Schedules []Schedule
	// RepairInterval is how often the repair loop plans the stripes this
	// node holds a shard of (repairloop.go); 0: DefaultRepairInterval.
	RepairInterval time.Duration
	// ScrubInterval is how often the node re-reads and re-hashes every
	// shard it holds (scrub.go); 0: DefaultScrubInterval.
	ScrubInterval time.Duration
	// AuditInterval is how often the node audits a sample of its
	// co-holders' shards (audit.go); 0: DefaultAuditInterval.
	AuditInterval time.Duration
	// RepairBandwidth caps the shard bytes repair fetches and sends, in
	// bytes per second; 0: DefaultRepairBandwidth.
	RepairBandwidth int64

	// Now is the clock; nil means time.Now. Not saved.
	Now func() time.Time
}

// DefaultConfig returns the defaults of CLI.md's node flags.
func DefaultConfig() Config {
	return Config{
		Listen: []string{
			"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1",
			"/ip6/::/tcp/4001", "/ip6/::/udp/4001/quic-v1",
		},
		API:         "127.0.0.1:4080",
		EC:          roster.DefaultEC,
		RepairGrace: 24 * time.Hour,
		Heartbeat:   5 * time.Second,
		NATPortMap:  true,
	}
}

// Validate reports the first problem, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	bad := func(key, f string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, key, fmt.Sprintf(f, a...))
	}
	if len(c.Listen) == 0 {
		return bad("listen", "no address")
	}
	for _, s := range c.Listen {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return bad("listen", "%q: %v", s, err)
		}
		ps := a.Protocols()
		tcp := len(ps) == 2 && ps[1].Code == ma.P_TCP
		quic := len(ps) == 3 && ps[1].Code == ma.P_UDP && ps[2].Code == ma.P_QUIC_V1
		if !tcp && !quic {
			return bad("listen", "%q is neither TCP nor QUIC v1", s)
		}
	}
	host, _, err := net.SplitHostPort(c.API)
	if err != nil {
		return bad("api", "%q: %v", c.API, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return bad("api", "%q is not a loopback address", c.API)
	}
	if _, _, err := roster.ParseEC(c.EC); err != nil {
		return bad("ec", "%q is not k+m, e.g. 4+2", c.EC)
	}
	if c.RepairGrace <= 0 {
		return bad("repair_grace", "must be positive")
	}
	if c.CapacityBytes < 0 {
		return bad("capacity_bytes", "negative")
	}
	if c.PruneGrace < 0 {
		return bad("prune_grace", "negative")
	}
	if c.RecordAge < 0 || c.HeadRepublish < 0 {
		return bad("record_age", "negative")
	}
	if c.RecordAge > 0 && c.HeadRepublish > 0 && c.HeadRepublish >= c.RecordAge {
		return bad("head_republish", "%v is not within record_age %v", c.HeadRepublish, c.RecordAge)
	}
	if _, err := mesh.NewTable(c.tableConfig()); err != nil {
		return bad("heartbeat", "%v: %v", c.Heartbeat, err)
	}
	if c.RepairInterval < 0 || c.ScrubInterval < 0 || c.AuditInterval < 0 {
		return bad("repair_interval", "negative interval (repair, scrub or audit)")
	}
	if c.RepairBandwidth < 0 {
		return bad("repair_bandwidth", "negative")
	}
	if c.LimitUpload < 0 || c.LimitUpload > 0 && c.LimitUpload < meshblobs.MinUploadLimit {
		return bad("limit_upload", "%d bytes/s: 0 (no limit) or at least %d (128 KiB/s)", c.LimitUpload, meshblobs.MinUploadLimit)
	}
	return validateSchedules(c.Schedules, bad)
}

// tableConfig is the peer table's configuration for c's heartbeat period.
func (c Config) tableConfig() mesh.Config {
	mc := mesh.DefaultConfig()
	mc.Interval = c.Heartbeat
	mc.LiveWindow = 3 * c.Heartbeat
	return mc
}

func (c Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// fileConfig is config.toml: durations as Go duration strings ("24h").
type fileConfig struct {
	Listen          []string `toml:"listen"`
	API             string   `toml:"api"`
	EC              string   `toml:"ec"`
	RepairGrace     string   `toml:"repair_grace"`
	Heartbeat       string   `toml:"heartbeat"`
	KeepRecoveryKey bool     `toml:"keep_recovery_key"`
	MemoryLimit     int64    `toml:"memory_limit"`
	CapacityBytes   int64    `toml:"capacity_bytes"`
	PageCache       bool     `toml:"page_cache,omitempty"`
	RelayService    bool     `toml:"relay_service"`
	NATPortMap      bool     `toml:"nat_port_map"`
	RecordAge       string   `toml:"record_age,omitempty"`
	PruneGrace      string   `toml:"prune_grace,omitempty"`
	HeadRepublish   string   `toml:"head_republish,omitempty"`
	LimitUpload     any      `toml:"limit_upload,omitempty"` // bytes/s, or a string for ParseRate
	RepairInterval  string   `toml:"repair_interval,omitempty"`
	ScrubInterval   string   `toml:"scrub_interval,omitempty"`
	AuditInterval   string   `toml:"audit_interval,omitempty"`
	RepairBandwidth any      `toml:"repair_bandwidth,omitempty"` // bytes/s, or a string for ParseRate

	Schedules []fileSchedule `toml:"schedule,omitempty"`
}

// SaveConfig validates cfg and writes it to DIR/config.toml (mode 0600,
// through a temporary file and a rename).
func SaveConfig(dir string, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	f := fileConfig{
		Listen: cfg.Listen, API: cfg.API, EC: cfg.EC,
		RepairGrace: cfg.RepairGrace.String(), Heartbeat: cfg.Heartbeat.String(),
		KeepRecoveryKey: cfg.KeepRecoveryKey, MemoryLimit: cfg.MemoryLimit,
		CapacityBytes: cfg.CapacityBytes, PageCache: cfg.PageCache, RelayService: cfg.RelayService, NATPortMap: cfg.NATPortMap,
		Schedules: toFileSchedules(cfg.Schedules),
	}
	if cfg.LimitUpload != 0 {
		f.LimitUpload = cfg.LimitUpload
	}
	if cfg.RecordAge > 0 {
		f.RecordAge = cfg.RecordAge.String()
	}
	if cfg.HeadRepublish > 0 {
		f.HeadRepublish = cfg.HeadRepublish.String()
	}
	if cfg.PruneGrace > 0 {
		f.PruneGrace = cfg.PruneGrace.String()
	}
	for _, d := range []struct {
		v  time.Duration
		to *string
	}{{cfg.RepairInterval, &f.RepairInterval}, {cfg.ScrubInterval, &f.ScrubInterval}, {cfg.AuditInterval, &f.AuditInterval}} {
		if d.v > 0 {
			*d.to = d.v.String()
		}
	}
	if cfg.RepairBandwidth != 0 {
		f.RepairBandwidth = cfg.RepairBandwidth
	}
	b, err := toml.Marshal(&f)
	if err != nil {
		return fmt.Errorf("node: config: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, ConfigFile), b, 0o600)
}

// LoadConfig reads DIR/config.toml over DefaultConfig (keys absent from the
// file keep their defaults) and validates the result. Unknown keys are an
// error, so a misspelt key is not silently ignored.
func LoadConfig(dir string) (Config, error) {
	cfg := DefaultConfig()
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return cfg, fmt.Errorf("node: config: %w", err)
	}
	f := fileConfig{
		Listen: cfg.Listen, API: cfg.API, EC: cfg.EC,
		RepairGrace: cfg.RepairGrace.String(), Heartbeat: cfg.Heartbeat.String(),
		NATPortMap: cfg.NATPortMap,
	}
	d := toml.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		var sm *toml.StrictMissingError
		var de *toml.DecodeError
		switch {
		case errors.As(err, &sm) && len(sm.Errors) > 0:
			row, _ := sm.Errors[0].Position()
			return cfg, fmt.Errorf("%w: %s: unknown key (%s line %d)", ErrInvalidConfig, strings.Join(sm.Errors[0].Key(), "."), ConfigFile, row)
		case errors.As(err, &de) && len(de.Key()) > 0:
			row, _ := de.Position()
			return cfg, fmt.Errorf("%w: %s: %v (%s line %d)", ErrInvalidConfig, strings.Join(de.Key(), "."), err, ConfigFile, row)
		}
		return cfg, fmt.Errorf("%w: %s: %v", ErrInvalidConfig, ConfigFile, err)
	}
	cfg.Listen, cfg.API, cfg.EC = f.Listen, f.API, f.EC
	cfg.KeepRecoveryKey, cfg.MemoryLimit, cfg.CapacityBytes = f.KeepRecoveryKey, f.MemoryLimit, f.CapacityBytes
	cfg.RelayService, cfg.NATPortMap, cfg.PageCache = f.RelayService, f.NATPortMap, f.PageCache
	switch v := f.LimitUpload.(type) {
	case nil:
	case int64:
		cfg.LimitUpload = v
	case string:
		if cfg.LimitUpload, err = ParseRate(v); err != nil {
			return cfg, fmt.Errorf("%w: limit_upload: %v", ErrInvalidConfig, err)
		}
	default:
		return cfg, fmt.Errorf("%w: limit_upload: %v is neither bytes per second nor a rate like \"2MiB/s\"", ErrInvalidConfig, v)
	}
	switch v := f.RepairBandwidth.(type) {
	case nil:
	case int64:
		cfg.RepairBandwidth = v
	case string:
		if cfg.RepairBandwidth, err = ParseRate(v); err != nil {
			return cfg, fmt.Errorf("%w: repair_bandwidth: %v", ErrInvalidConfig, err)
		}
	default:
		return cfg, fmt.Errorf("%w: repair_bandwidth: %v is neither bytes per second nor a rate like \"8MiB/s\"", ErrInvalidConfig, v)
	}
	if cfg.Schedules, err = fromFileSchedules(f.Schedules); err != nil {
		return cfg, err
	}
	if cfg.RepairGrace, err = time.ParseDuration(f.RepairGrace); err != nil {
		return cfg, fmt.Errorf("%w: repair_grace: %v", ErrInvalidConfig, err)
	}
	if cfg.Heartbeat, err = time.ParseDuration(f.Heartbeat); err != nil {
		return cfg, fmt.Errorf("%w: heartbeat: %v", ErrInvalidConfig, err)
	}
	for _, d := range []struct {
		key string
		s   string
		to  *time.Duration
	}{{"record_age", f.RecordAge, &cfg.RecordAge}, {"head_republish", f.HeadRepublish, &cfg.HeadRepublish}, {"prune_grace", f.PruneGrace, &cfg.PruneGrace},
		{"repair_interval", f.RepairInterval, &cfg.RepairInterval}, {"scrub_interval", f.ScrubInterval, &cfg.ScrubInterval},
		{"audit_interval", f.AuditInterval, &cfg.AuditInterval}} {
		if d.s == "" {
			continue
		}
		if *d.to, err = time.ParseDuration(d.s); err != nil {
			return cfg, fmt.Errorf("%w: %s: %v", ErrInvalidConfig, d.key, err)
		}
	}
	return cfg, cfg.Validate()
}

// ParseRate reads a rate in bytes per second: "2MiB/s", "500KiB", "10MB",
// "1048576" (KiB, MiB, GiB and K, M, G are powers of 1024; KB, MB, GB of
// 1000; B or no unit is bytes; "/s" is optional). "0" is no limit.
func ParseRate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSpace(strings.TrimSuffix(t, "/s"))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
	} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f*float64(mult) > 1<<50 {
		return 0, fmt.Errorf("bad rate %q: want bytes per second with an optional unit, e.g. 2MiB/s or 500KiB", s)
	}
	return int64(f * float64(mult)), nil
}
