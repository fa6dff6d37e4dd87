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

// backupProgress renders backup.Progress: a bar with files, bytes, rate and
// ETA on a terminal, one JSON object per line otherwise (when asJSON), or
// nothing.
type backupProgress struct {
	w      io.Writer
	asJSON bool
	bar    *progressbar.ProgressBar
}

func newBackupProgress(w io.Writer, total int64, asJSON bool) *backupProgress {
	p := &backupProgress{w: w, asJSON: asJSON}
	if !asJSON && isTerminal(w) {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("backing up"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetWidth(30),
		)
	}
	return p
}

func (p *backupProgress) update(pr backup.Progress) {
	switch {
	case p.bar != nil:
		if pr.TotalBytes > 0 {
			p.bar.ChangeMax64(pr.TotalBytes)
		}
		p.bar.Describe(fmt.Sprintf("backing up: %d files", pr.Files))
		_ = p.bar.Set64(pr.Bytes)
		if pr.Done {
			_ = p.bar.Finish()
		}
	case p.asJSON:
		b, _ := json.Marshal(map[string]any{
			"progress": true, "files": pr.Files, "bytes": pr.Bytes, "new_bytes": pr.NewBytes,
			"total_files": pr.TotalFiles, "total_bytes": pr.TotalBytes, "elapsed_s": pr.Elapsed.Seconds(), "done": pr.Done,
		})
		fmt.Fprintln(p.w, string(b))
	}
}
