package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"respaldo/node/api"
)

// isTerminal reports whether w is a terminal (progress bars go only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// progressMode is how a backupProgress shows progress.
type progressMode int

const (
	progressNone  progressMode = iota // nothing
	progressBar                       // a live status line, then a bar (a terminal)
	progressLines                     // one JSON object per line, per update
)

// backupProgress renders a backup's progress (api.Progress): on a
// terminal a status line while the size is unknown, then a bar, with files,
// bytes, rate and ETA (the node's, so they do not jump when the bar
// appears); as JSON lines, one object per update; or nothing.
type backupProgress struct {
	w    io.Writer
	mode progressMode
	bar  *progressbar.ProgressBar
	line bool // a status line is on the terminal
}

// newBackupProgress is a bar on a terminal w, JSON lines with asJSON, else
// nothing (the demo).
func newBackupProgress(w io.Writer, asJSON bool) *backupProgress {
	mode := progressNone
	switch {
	case asJSON:
		mode = progressLines
	case isTerminal(w):
		mode = progressBar
	}
	return newProgress(w, mode)
}

func newProgress(w io.Writer, mode progressMode) *backupProgress {
	return &backupProgress{w: w, mode: mode}
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

// progressView is what the terminal shows, whatever the source.
type progressView struct {
	files, bytes, totalBytes int64
	rate                     float64 // bytes per second
	eta                      float64 // seconds left, -1 when unknown
	done                     bool
}

// apiProgressLine is a progress line of 'respaldo backup --json': the
// node's progress object with "progress": true, which tells it from the
// result line that follows.
type apiProgressLine struct {
	Marker bool `json:"progress"` // always true
	api.Progress
}

// updateAPI shows a progress line of a node's backup (api.Progress).
func (p *backupProgress) updateAPI(pr api.Progress) {
	e := -1.0
	if pr.TotalBytes > 0 && (pr.ETA > 0 || pr.Done) {
		e = pr.ETA
	}
	p.show(progressView{files: pr.Files, bytes: pr.Bytes, totalBytes: pr.TotalBytes,
		rate: pr.Rate, eta: e, done: pr.Done},
		func() any { return apiProgressLine{Marker: true, Progress: pr} })
}

func (p *backupProgress) show(v progressView, jsonLine func() any) {
	switch {
	case p.mode == progressBar && p.bar == nil && v.totalBytes <= 0:
		// The walk goes on: no total yet, so a plain status line.
		if v.done {
			p.clear()
		} else {
			fmt.Fprintf(p.w, "\r%s\033[K", describe(v))
			p.line = true
		}
	case p.mode == progressBar:
		if p.bar == nil {
			p.clear()
			p.bar = newBar(p.w, v.totalBytes)
		}
		p.bar.Describe(describe(v))
		_ = p.bar.Set64(v.bytes)
		if v.done {
			_ = p.bar.Finish()
			p.bar = nil
		}
	case p.mode == progressLines:
		b, _ := json.Marshal(jsonLine())
		fmt.Fprintln(p.w, string(b))
	}
}

// clear takes a status line or a bar that is still shown off the terminal,
// so that what follows (a result, an error) starts on a clean line.
func (p *backupProgress) clear() {
	if p.mode != progressBar {
		return
	}
	if p.bar != nil {
		_ = p.bar.Clear()
		p.bar = nil
	}
	if p.line {
		fmt.Fprint(p.w, "\r\033[K")
		p.line = false
	}
}

func describe(v progressView) string {
	s := fmt.Sprintf("backing up: %d files, %s", v.files, humanBytes(v.bytes))
	if v.totalBytes > 0 {
		s += " of " + humanBytes(v.totalBytes)
	}
	s += fmt.Sprintf(", %.0f MB/s", v.rate/1e6)
	if v.eta >= 0 {
		s += fmt.Sprintf(", %s left", time.Duration(v.eta*float64(time.Second)).Round(time.Second))
	}
	return s
}
