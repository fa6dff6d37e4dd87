package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Backup is POST /v1/backup: it sends req (relative paths made absolute
// against the caller's working directory; req.Stdin after the JSON line
// when req.StdinName is set), calls progress for each progress line, in
// order, from the calling goroutine, and returns the final result.
//
// Ending ctx stops the waiting, not the backup, which the node finishes on
// its own — except a stdin backup, whose input is then cut short, so that
// it fails. If req.Stdin fails, so does the backup, with that error.
func (c *Client) Backup(ctx context.Context, req BackupRequest, progress func(Progress)) (BackupResult, error) {
	paths, err := absPaths(req.Paths)
	if err != nil {
		return BackupResult{}, err
	}
	req.Paths = paths
	head, err := json.Marshal(req)
	if err != nil {
		return BackupResult{}, err
	}
	var body io.Reader = bytes.NewReader(append(head, '\n'))
	stdin := &errReader{r: req.Stdin}
	if req.StdinName != "" {
		if req.Stdin == nil {
			return BackupResult{}, errors.New("backup: --stdin-name without a stream to read")
		}
		body = io.MultiReader(body, stdin) // unknown length: sent chunked
	}
	resp, err := c.send(ctx, http.MethodPost, "/v1/backup", body, "application/x-ndjson")
	if err != nil {
		return BackupResult{}, stdin.or(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxBody)
	for sc.Scan() {
		var l streamLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return BackupResult{}, fmt.Errorf("backup: a line the client cannot read from the node: %w", err)
		}
		switch {
		case l.Progress != nil:
			if progress != nil {
				progress(*l.Progress)
			}
		case l.Result != nil:
			return *l.Result, nil
		case l.Code != "":
			return BackupResult{}, stdin.or(&Error{Status: statusOf(l.Code), Code: l.Code, Message: oneLine(l.Error)})
		}
	}
	if err := stdin.or(nil); err != nil {
		return BackupResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return BackupResult{}, err
	}
	return BackupResult{}, &Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
		Message: "lost the connection to the node in " + c.dir + " during the backup; it may still finish there (see 'respaldo snapshots')"}
}

// errReader remembers the first error other than io.EOF of r, the stdin
// stream, so that a failing command is what the user hears of.
type errReader struct {
	r   io.Reader
	mu  sync.Mutex
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.mu.Lock()
		if e.err == nil {
			e.err = err
		}
		e.mu.Unlock()
	}
	return n, err
}

// or is the stdin error if there was one, else err.
func (e *errReader) or(err error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return fmt.Errorf("backup: reading the input: %w", e.err)
	}
	return err
}
