package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"respaldo/node/backup"
)

// isTerminal reports whether w is a terminal (progress bars go only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// backupProgress renders backup.Progress: on a terminal a status line
// while the size is unknown, then a bar, with files, bytes, rate and ETA
// (computed here from the backup's own clock, so they do not jump when the
// bar appears); with asJSON one JSON object per line; otherwise nothing.
type backupProgress struct {
	w      io.Writer
	asJSON bool
	tty    bool
	bar    *progressbar.ProgressBar
}

func newBackupProgress(w io.Writer, asJSON bool) *backupProgress {
	return &backupProgress{w: w, asJSON: asJSON, tty: !asJSON && isTerminal(w)}
}

func newBar(w io.Writer, total int64) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("backing up"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(25),
		progressbar.OptionSetElapsedTime(false),
		progressbar.OptionSetPredictTime(false),
	)
}

func (p *backupProgress) update(pr backup.Progress) {
	switch {
	case p.tty && p.bar == nil && pr.TotalBytes <= 0:
		// The walk goes on: no total yet, so a plain status line.
		if pr.Done {
			fmt.Fprint(p.w, "\r\033[K")
		} else {
			fmt.Fprintf(p.w, "\r%s\033[K", describe(pr))
		}
	case p.tty:
		if p.bar == nil {
			fmt.Fprint(p.w, "\r\033[K")
			p.bar = newBar(p.w, pr.TotalBytes)
		}
		p.bar.Describe(describe(pr))
		_ = p.bar.Set64(pr.Bytes)
		if pr.Done {
			_ = p.bar.Finish()
			p.bar = nil
		}
	case p.asJSON:
		b, _ := json.Marshal(map[string]any{
			"progress": true, "files": pr.Files, "bytes": pr.Bytes, "new_bytes": pr.NewBytes,
			"total_files": pr.TotalFiles, "total_bytes": pr.TotalBytes, "elapsed_s": pr.Elapsed.Seconds(),
			"rate_bytes_per_s": rate(pr), "eta_s": eta(pr), "done": pr.Done,
		})
		fmt.Fprintln(p.w, string(b))
	}
}

func rate(pr backup.Progress) float64 {
	if pr.Elapsed <= 0 {
		return 0
	}
	return float64(pr.Bytes) / pr.Elapsed.Seconds()
}

// eta is the seconds left at the average rate so far, -1 when unknown.
func eta(pr backup.Progress) float64 {
	r := rate(pr)
	if pr.TotalBytes <= 0 || r <= 0 {
		return -1
	}
	return float64(pr.TotalBytes-pr.Bytes) / r
}

func describe(pr backup.Progress) string {
	s := fmt.Sprintf("backing up: %d files, %s", pr.Files, humanBytes(pr.Bytes))
	if pr.TotalBytes > 0 {
		s += " of " + humanBytes(pr.TotalBytes)
	}
	s += fmt.Sprintf(", %.0f MB/s", rate(pr)/1e6)
	if e := eta(pr); e >= 0 {
		s += fmt.Sprintf(", %s left", (time.Duration(e) * time.Second).Round(time.Second))
	}
	return s
}
