package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// POST /v1/backup. The body is one line of JSON, the BackupRequest, then,
// if stdin_name is set, the raw bytes of the client's command's output up
// to the end of the body (sent chunked; a body cut short fails the backup).
// The answer, once the request is checked, is 200 with NDJSON: progress
// lines {"progress": {...}}, at most one per progressEvery, then one final
// line, {"result": {...}} or {"error": "...", "code": "..."}. A stream that
// ends without a final line means the connection was lost; the backup may
// still finish in the node.
//
// The backup runs under the server's ctx: the client going away stops the
// stream, not the backup (except a stdin backup, whose input is cut short).

// progressEvery is the least time between two progress lines.
const progressEvery = 100 * time.Millisecond

// streamLine is one line of the backup stream.
type streamLine struct {
	Progress *Progress     `json:"progress,omitempty"`
	Result   *BackupResult `json:"result,omitempty"`
	Error    string        `json:"error,omitempty"`
	Code     string        `json:"code,omitempty"`
}

func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	body := bufio.NewReaderSize(r.Body, 64<<10)
	line, err := readLine(body, maxBody)
	if err != nil {
		writeError(w, err)
		return
	}
	var req BackupRequest
	if err := decodeJSON(line, &req); err != nil {
		writeError(w, err)
		return
	}
	if err := checkBackup(&req); err != nil {
		writeError(w, err)
		return
	}
	if req.StdinName != "" {
		req.Stdin = body
	}
	// HTTP/1: read stdin while progress goes out. Only now: a request
	// refused above is answered the usual way, where the server drains or
	// half-closes before it closes, so that the client reads the error
	// rather than a connection reset by unread stdin bytes.
	_ = rc.EnableFullDuplex()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc.Flush()

	out := &lineWriter{w: w, rc: rc}
	pw := newProgressWriter(out)
	res, err := s.b.Backup(s.ops, req, pw.update)
	pw.close()
	if err != nil {
		e := toError(err)
		out.write(streamLine{Error: e.Message, Code: e.Code})
		return
	}
	out.write(streamLine{Result: &res})
}

// readLine reads up to and without the first '\n' (or to EOF), at most max bytes.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > max {
			return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "bad-request", Message: "backup request too large"}
		}
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case err == io.EOF:
			return line, nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return nil, errorf("bad-request", "reading the request: "+err.Error())
		}
	}
}

// lineWriter writes NDJSON lines, flushing each; after a failed write
// (the client went away) it drops the rest.
type lineWriter struct {
	w    io.Writer
	rc   *http.ResponseController
	dead bool
}

func (l *lineWriter) write(v streamLine) {
	if l.dead {
		return
	}
	b, _ := json.Marshal(v)
	if _, err := l.w.Write(append(b, '\n')); err != nil {
		l.dead = true
		return
	}
	if err := l.rc.Flush(); err != nil {
		l.dead = true
	}
}

// progressWriter sends progress from its own goroutine, so that the
// Backend's callback never waits for the client: it keeps only the latest
// update, and writes it at most every progressEvery. close writes the last
// one still pending and stops.
type progressWriter struct {
	out     *lineWriter
	mu      sync.Mutex
	latest  Progress
	pending bool
	closed  bool
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func newProgressWriter(out *lineWriter) *progressWriter {
	p := &progressWriter{out: out, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *progressWriter) update(pr Progress) {
	p.mu.Lock()
	if !p.closed {
		p.latest, p.pending = pr, true
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *progressWriter) take() (Progress, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pr, ok := p.latest, p.pending
	p.pending = false
	return pr, ok
}

func (p *progressWriter) run() {
	defer close(p.done)
	for {
		select {
		case <-p.wake:
		case <-p.stop:
			if pr, ok := p.take(); ok {
				p.out.write(streamLine{Progress: &pr})
			}
			return
		}
		if pr, ok := p.take(); ok {
			p.out.write(streamLine{Progress: &pr})
		}
		select {
		case <-time.After(progressEvery):
		case <-p.stop:
		}
	}
}

func (p *progressWriter) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	close(p.stop)
	<-p.done
}
