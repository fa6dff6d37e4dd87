package api

import (
	"io"
	"io/fs"
	"time"
)

// The member-side wire types (CLI.md "Member commands"). Requests that read
// or delete the past carry the member's recovery key in the body; a node
// set up with --keep-recovery-key needs none, and one without answers
// needs-recovery-key (ErrNeedsRecoveryKey) when it is missing.

// BackupRequest is the body of POST /v1/backup (respaldo backup). Either
// Paths or StdinName is set, not both.
type BackupRequest struct {
	// Paths are absolute (the client makes them so against its own working
	// directory; the server refuses relative ones).
	Paths    []string `json:"paths,omitempty"`
	Excludes []string `json:"excludes,omitempty"` // globs (--exclude)
	Tags     []string `json:"tags,omitempty"`
	// StdinName, if set, backs up Stdin as one file of that name (a plain
	// name, no slash): respaldo backup --stdin-from CMD --stdin-name NAME.
	StdinName string `json:"stdin_name,omitempty"`
	// Stdin is the output of CMD, which runs on the client side. On the
	// wire it follows the JSON line of the request in the same body. It
	// must end with an error, not io.EOF, if CMD fails: then the backup
	// fails and makes no snapshot. On the server it is valid until
	// Backend.Backup returns, and a client that goes away makes it fail.
	Stdin io.Reader `json:"-"`
}

// Progress is one progress line of POST /v1/backup.
type Progress struct {
	Files      int64   `json:"files"` // regular files done
	Dirs       int64   `json:"dirs"`
	Bytes      int64   `json:"bytes"`       // file bytes read
	NewBytes   int64   `json:"new_bytes"`   // of which new (not deduplicated)
	TotalFiles int64   `json:"total_files"` // 0 while not known
	TotalBytes int64   `json:"total_bytes"` // 0 while not known
	Rate       float64 `json:"rate"`        // bytes read per second
	ETA        float64 `json:"eta_s"`       // seconds left; 0 while not known
	Path       string  `json:"path"`        // the file being read
	Elapsed    float64 `json:"elapsed_s"`
	Done       bool    `json:"done"`
}

// BackupResult is the final line of POST /v1/backup.
type BackupResult struct {
	SnapshotID      string  `json:"snapshot_id"`
	Files           int64   `json:"files"`
	Bytes           int64   `json:"bytes"`
	NewBytes        int64   `json:"new_bytes"`
	Duration        float64 `json:"duration_s"`
	ToleratesLosses int     `json:"tolerates_losses"`
	// Skipped lists what could not be read and is not in the snapshot; the
	// CLI lists them and exits 3.
	Skipped []Skipped `json:"skipped,omitempty"`
}

// Skipped is a file or directory a backup could not read.
type Skipped struct {
	Path  string `json:"path"`
	Error string `json:"error"`
}

// SnapshotsRequest is the optional body of POST /v1/snapshots (GET
// /v1/snapshots is the same without a key: only what this node wrote).
type SnapshotsRequest struct {
	RecoveryKey RecoveryKey `json:"recovery_key,omitzero"`
}

// Snapshot is one entry of /v1/snapshots (respaldo snapshots), oldest first.
type Snapshot struct {
	ID    string    `json:"id"`
	Time  time.Time `json:"time"`
	Host  string    `json:"host"`
	Paths []string  `json:"paths"`
	Tags  []string  `json:"tags"`
	Files int64     `json:"files"`
	Bytes int64     `json:"bytes"`
}

// LsRequest is the body of POST /v1/ls (respaldo ls SNAP [PATH]).
type LsRequest struct {
	Snapshot    string      `json:"snapshot"` // an ID, a unique prefix, or "latest"
	Path        string      `json:"path,omitempty"`
	RecoveryKey RecoveryKey `json:"recovery_key,omitzero"`
}

// LsEntry is one entry of POST /v1/ls.
type LsEntry struct {
	Path string `json:"path"` // slash-separated, relative to the snapshot's root
	Type string `json:"type"` // "file", "dir" or "symlink"
	Size int64  `json:"size"`
	// Mode is the fs.FileMode as a number (permission, setuid/setgid/sticky
	// and type bits, as Go defines them).
	Mode  fs.FileMode `json:"mode"`
	MTime time.Time   `json:"mtime"`
}

// RestoreRequest is the body of POST /v1/restore (respaldo restore).
type RestoreRequest struct {
	Snapshot string   `json:"snapshot"` // an ID, a unique prefix, or "latest"
	Target   string   `json:"target"`   // absolute, on the node's machine
	Include  []string `json:"include,omitempty"`
	// Overwrite allows a non-empty target.
	Overwrite   bool        `json:"overwrite,omitempty"`
	RecoveryKey RecoveryKey `json:"recovery_key,omitzero"`
}

// RestoreResult answers POST /v1/restore.
type RestoreResult struct {
	Files    int64   `json:"files"`
	Bytes    int64   `json:"bytes"`
	Duration float64 `json:"duration_s"`
}

// CheckRequest is the body of POST /v1/check (respaldo check).
type CheckRequest struct {
	// ReadData fetches and verifies every shard, not only asks its holder;
	// it needs the recovery key.
	ReadData    bool        `json:"read_data,omitempty"`
	RecoveryKey RecoveryKey `json:"recovery_key,omitzero"`
}

// CheckResult answers POST /v1/check: over this member's own stripes.
type CheckResult struct {
	Stripes         int64 `json:"stripes"`
	Healthy         int64 `json:"healthy"`
	Degraded        int64 `json:"degraded"`
	AtRisk          int64 `json:"at_risk"`
	Lost            int64 `json:"lost"`
	Underplaced     int64 `json:"underplaced"`
	ReadErrors      int64 `json:"read_errors"`
	ToleratesLosses int   `json:"tolerates_losses"`
}

// ForgetRequest is the body of POST /v1/forget (respaldo forget). At least
// one Keep… is positive: the server refuses a policy that keeps nothing.
type ForgetRequest struct {
	KeepLast    int         `json:"keep_last,omitempty"`
	KeepDaily   int         `json:"keep_daily,omitempty"`
	KeepWeekly  int         `json:"keep_weekly,omitempty"`
	Prune       bool        `json:"prune,omitempty"` // delete the data; needs the recovery key
	RecoveryKey RecoveryKey `json:"recovery_key,omitzero"`
}

// ForgetResult answers POST /v1/forget with snapshot IDs.
type ForgetResult struct {
	Removed []string `json:"removed"`
	Kept    []string `json:"kept"`
}

// DashboardLink answers POST /v1/dashboard-link: a one-time link that
// opens the dashboard already signed in.
type DashboardLink struct {
	URL     string    `json:"url"`
	Expires time.Time `json:"expires"`
}
