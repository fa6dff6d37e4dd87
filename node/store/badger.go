package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// badgerOptions are the options of the records database: small values stay
// in the LSM tree only up to 1 KiB, and the low-memory set measured in
// NOTES-deps.md keeps a node's RAM use small. The memtable is 4 MiB: a
// node writes a few hundred bytes of records per shard or pack, and the
// memtable's arena is live heap for the whole life of the process (21 MB
// at 16 MiB, about 5 MB at 4 MiB; docs/performance.md). It bounds one
// transaction to about 600 KB, far above any single update here.
func badgerOptions(dir string, log *slog.Logger) badger.Options {
	return badger.DefaultOptions(dir).
		WithValueThreshold(1 << 10).
		WithMemTableSize(4 << 20).
		WithNumMemtables(2).
		WithBaseTableSize(1 << 20).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(8 << 20).
		WithValueLogFileSize(256 << 20).
		WithNumCompactors(2).
		WithMetricsEnabled(false).
		WithSyncWrites(true).
		WithLogger(badgerLogger{log.With("component", "badger")})
}

// badgerLogger adapts badger's logger to log/slog, one level quieter for
// badger's chatty Info messages.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) log(level slog.Level, f string, a []any) {
	if b.l.Enabled(context.Background(), level) {
		b.l.Log(context.Background(), level, strings.TrimSpace(fmt.Sprintf(f, a...)))
	}
}

func (b badgerLogger) Errorf(f string, a ...any)   { b.log(slog.LevelError, f, a) }
func (b badgerLogger) Warningf(f string, a ...any) { b.log(slog.LevelWarn, f, a) }
func (b badgerLogger) Infof(f string, a ...any)    { b.log(slog.LevelDebug, f, a) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.log(slog.LevelDebug, f, a) }
