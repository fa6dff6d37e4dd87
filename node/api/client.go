package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Client calls the API of the node running in a data directory. Its
// methods may be called concurrently. Their errors are one line, meant for
// the user: an *Error (matching a sentinel under errors.Is), a
// *NotRunningError, or ctx's error.
type Client struct {
	dir   string
	base  string // http://host:port
	token string
	hc    *http.Client
}

// Timeouts of the calls that should answer at once; the others (backup,
// restore, ls, snapshots, check, forget, drain) have none but their ctx.
const (
	quickTimeout = 10 * time.Second // status, peers, roster, dashboard link
	meshTimeout  = 2 * time.Minute  // invite, revoke: a roster entry spreads
	dialTimeout  = 2 * time.Second
)

// NotRunningError: no node answers in Dir. It matches ErrNodeNotRunning.
type NotRunningError struct{ Dir string }

func (e *NotRunningError) Error() string {
	return fmt.Sprintf("no node is running in %s (start one with 'respaldo node')", e.Dir)
}

func (e *NotRunningError) Is(target error) bool { return target == ErrNodeNotRunning }

// Dial returns a Client for the node of dataDir: it reads api.addr and
// api.token and checks that something listens there. When the files are
// missing or nothing answers, the error is a *NotRunningError.
func Dial(dataDir string) (*Client, error) {
	notRunning := &NotRunningError{Dir: dataDir}
	addr, err1 := os.ReadFile(filepath.Join(dataDir, AddrFile))
	token, err2 := os.ReadFile(filepath.Join(dataDir, TokenFile))
	if errors.Is(err1, os.ErrNotExist) || errors.Is(err2, os.ErrNotExist) {
		return nil, notRunning
	}
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("reading the node's API files: %w", err)
	}
	ap, err := loopbackAddr(strings.TrimSpace(string(addr)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w; not sending the token there", filepath.Join(dataDir, AddrFile), err)
	}
	conn, err := net.DialTimeout("tcp", ap.String(), dialTimeout)
	if err != nil {
		return nil, notRunning
	}
	conn.Close()
	tr := &http.Transport{
		Proxy:               nil, // never through a proxy
		DialContext:         (&net.Dialer{Timeout: dialTimeout}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Client{
		dir:   dataDir,
		base:  "http://" + ap.String(),
		token: strings.TrimSpace(string(token)),
		hc: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// call sends in as JSON (nil: no body) and decodes a 200's body into out;
// timeout 0 is none.
func (c *Client) call(ctx context.Context, method, path string, timeout time.Duration, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	resp, err := c.send(ctx, method, path, body, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return c.lost(ctx, err)
	}
	return nil
}

// send does the request; a status other than 200 is the node's *Error.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, ctype string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json, application/x-ndjson")
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.lost(ctx, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

// lost explains a failed exchange: the caller's ctx, a node that is gone,
// or one that did not answer in time.
func (c *Client) lost(ctx context.Context, err error) error {
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "dial" {
		return &NotRunningError{Dir: c.dir}
	}
	switch cerr := ctx.Err(); {
	case errors.Is(cerr, context.DeadlineExceeded):
		return &Error{Code: "unavailable", Status: http.StatusServiceUnavailable,
			Message: "the node in " + c.dir + " did not answer in time"}
	case cerr != nil:
		return cerr
	}
	return &Error{Code: "unavailable", Status: http.StatusServiceUnavailable,
		Message: "lost the connection to the node in " + c.dir + ": " + oneLine(err.Error())}
}

// readError decodes the node's {"error", "code"}.
func readError(resp *http.Response) error {
	e := &Error{Status: resp.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, e) != nil || e.Code == "" || e.Message == "" {
		e.Code = codeOf(resp.StatusCode)
		e.Message = "the node answered " + resp.Status
	}
	e.Message = oneLine(e.Message)
	return e
}

// codeOf is the code of a status, for answers without a JSON body.
func codeOf(status int) string {
	for _, c := range codes {
		if c.status == status {
			return c.code
		}
	}
	if status >= 500 {
		return "internal"
	}
	return "bad-request"
}
