package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"respaldo/crypto"
	"respaldo/node/api"
)

// The member commands against an api.Server backed by memberFake: what the
// CLI sends, what it prints, and its exit codes.

// memberFake is a Backend that records what it is asked and answers fixed
// results. With needKey, the calls that read the past answer
// needs-recovery-key unless the request carries wantKey.
type memberFake struct {
	api.UnimplementedBackend

	mu      sync.Mutex
	calls   map[string]int
	keys    map[string][]api.RecoveryKey // per method, as received
	backup  api.BackupRequest
	stdin   []byte // what Backup read of req.Stdin
	readErr error  // and how that ended (nil: io.EOF)
	ls      api.LsRequest
	restore api.RestoreRequest
	check   api.CheckRequest
	forget  api.ForgetRequest

	// backupDone gets a value when Backup has recorded what it read:
	// a client whose input fails can be done before the node is.
	backupDone chan struct{}

	needKey  bool
	wantKey  crypto.RecoveryKey
	result   api.BackupResult
	progress []api.Progress
	snaps    []api.Snapshot
}

func newMemberFake() *memberFake {
	return &memberFake{calls: map[string]int{}, keys: map[string][]api.RecoveryKey{}, backupDone: make(chan struct{}, 10),
		result: api.BackupResult{SnapshotID: strings.Repeat("ab", 32), Files: 3, Bytes: 300, NewBytes: 100,
			Duration: 1.5, ToleratesLosses: 2}}
}

func (f *memberFake) record(method string, rk api.RecoveryKey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	f.keys[method] = append(f.keys[method], rk)
	if !f.needKey {
		return nil
	}
	if k, ok := rk.Key(); ok && k == f.wantKey {
		return nil
	}
	if !rk.IsZero() {
		return errors.Join(api.ErrForbidden, errors.New("that recovery key is not this member's"))
	}
	return api.ErrNeedsRecoveryKey
}

func (f *memberFake) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *memberFake) Backup(ctx context.Context, req api.BackupRequest, progress func(api.Progress)) (api.BackupResult, error) {
	f.record("backup", api.RecoveryKey{})
	for _, p := range f.progress {
		progress(p)
		time.Sleep(120 * time.Millisecond) // the server sends at most one line per 100 ms
	}
	var data []byte
	var rerr error
	if req.Stdin != nil {
		data, rerr = io.ReadAll(req.Stdin) // ReadAll: nil at io.EOF, else the error
	}
	f.mu.Lock()
	req.Stdin = nil
	f.backup, f.stdin, f.readErr = req, data, rerr
	f.mu.Unlock()
	f.backupDone <- struct{}{}
	if rerr != nil {
		return api.BackupResult{}, rerr // no snapshot
	}
	return f.result, nil
}

func (f *memberFake) Snapshots(_ context.Context, req api.SnapshotsRequest) ([]api.Snapshot, error) {
	f.mu.Lock()
	f.calls["snapshots"]++
	f.keys["snapshots"] = append(f.keys["snapshots"], req.RecoveryKey)
	f.mu.Unlock()
	return f.snaps, nil // without a key: what this node wrote; the fake does not tell
}

func (f *memberFake) Ls(_ context.Context, req api.LsRequest) ([]api.LsEntry, error) {
	if err := f.record("ls", req.RecoveryKey); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.ls = req
	f.mu.Unlock()
	return []api.LsEntry{
		{Path: "docs", Type: "dir", Mode: os.ModeDir | 0o755, MTime: time.Unix(1700000000, 0).UTC()},
		{Path: "docs/a.txt", Type: "file", Size: 42, Mode: 0o644, MTime: time.Unix(1700000000, 0).UTC()},
	}, nil
}

func (f *memberFake) Restore(_ context.Context, req api.RestoreRequest) (api.RestoreResult, error) {
	if err := f.record("restore", req.RecoveryKey); err != nil {
		return api.RestoreResult{}, err
	}
	f.mu.Lock()
	f.restore = req
	f.mu.Unlock()
	return api.RestoreResult{Files: 7, Bytes: 700, Duration: 0.25}, nil
}

func (f *memberFake) Check(_ context.Context, req api.CheckRequest) (api.CheckResult, error) {
	if req.ReadData {
		if err := f.record("check", req.RecoveryKey); err != nil {
			return api.CheckResult{}, err
		}
	} else {
		f.record("check", api.RecoveryKey{})
	}
	f.mu.Lock()
	f.check = req
	f.mu.Unlock()
	return api.CheckResult{Stripes: 10, Healthy: 9, Degraded: 1, ToleratesLosses: 1}, nil
}

func (f *memberFake) Forget(_ context.Context, req api.ForgetRequest) (api.ForgetResult, error) {
	if req.Prune {
		if err := f.record("forget", req.RecoveryKey); err != nil {
			return api.ForgetResult{}, err
		}
	} else {
		f.record("forget", api.RecoveryKey{})
	}
	f.mu.Lock()
	f.forget = req
	f.mu.Unlock()
	return api.ForgetResult{Removed: []string{strings.Repeat("01", 32)}}, nil // Kept nil: the CLI prints []
}

// startMember runs an API server for f in a temp data dir and returns the dir.
func startMember(t *testing.T, f api.Backend) string {
	t.Helper()
	dir := t.TempDir()
	s := api.NewServer(f, api.ServerOptions{Addr: "127.0.0.1:0"})
	if err := s.Start(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return dir
}

type runResult struct {
	code           int
	stdout, stderr string
}

// run runs respaldo --data dir args... with stdin.
func run(t *testing.T, dir string, stdin io.Reader, args ...string) runResult {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errb bytes.Buffer
	code := Main(append([]string{"--data", dir}, args...), stdin, &out, &errb)
	return runResult{code, out.String(), errb.String()}
}

func (r runResult) want(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
}

// oneErrorLine fails unless stderr is one line "respaldo: …" holding each of subs.
func (r runResult) oneErrorLine(t *testing.T, subs ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "respaldo: ") {
		t.Fatalf("last stderr line %q is not 'respaldo: …'\nstderr: %s", last, r.stderr)
	}
	for _, s := range subs {
		if !strings.Contains(last, s) {
			t.Errorf("error line %q does not say %q", last, s)
		}
	}
}

// keysOf decodes one JSON object and returns its keys, sorted.
func keysOf(t *testing.T, s string) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not a JSON object: %q: %v", s, err)
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func sameKeys(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s keys %v, want %v", what, got, want)
	}
}

func writeKey(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rk.txt")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newRecoveryKey(t *testing.T) crypto.RecoveryKey {
	t.Helper()
	k, err := crypto.GenerateRecoveryKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestMemberBackupJSON(t *testing.T) {
	f := newMemberFake()
	f.progress = []api.Progress{{Files: 1, Bytes: 100, Elapsed: 0.1}, {Files: 3, Bytes: 300, TotalFiles: 3, TotalBytes: 300, Done: true}}
	dir := startMember(t, f)
	wd, _ := os.Getwd()

	r := run(t, dir, nil, "backup", "some/rel", "/abs/path", "--exclude", "*.tmp", "--exclude", "cache", "--tag", "daily", "--json")
	r.want(t, ExitOK)
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 2 progress lines and a result line, got %d:\n%s", len(lines), r.stdout)
	}
	for _, l := range lines[:2] {
		var p struct {
			Progress bool  `json:"progress"`
			Files    int64 `json:"files"`
		}
		if err := json.Unmarshal([]byte(l), &p); err != nil || !p.Progress || p.Files == 0 {
			t.Errorf("progress line %q: %+v %v", l, p, err)
		}
	}
	sameKeys(t, "backup result", keysOf(t, lines[2]),
		"snapshot_id", "files", "bytes", "new_bytes", "duration_s", "tolerates_losses")
	var res api.BackupResult
	json.Unmarshal([]byte(lines[2]), &res)
	if res.SnapshotID != f.result.SnapshotID || res.Files != 3 {
		t.Errorf("result %+v", res)
	}

	f.mu.Lock()
	got := f.backup
	f.mu.Unlock()
	wantPaths := []string{filepath.Join(wd, "some/rel"), filepath.FromSlash("/abs/path")}
	if runtime.GOOS == "windows" {
		wantPaths[1], _ = filepath.Abs("/abs/path")
	}
	if !slices.Equal(got.Paths, wantPaths) || !slices.Equal(got.Excludes, []string{"*.tmp", "cache"}) ||
		!slices.Equal(got.Tags, []string{"daily"}) || got.StdinName != "" {
		t.Errorf("the node got %+v", got)
	}
}

func TestMemberBackupHuman(t *testing.T) {
	f := newMemberFake()
	f.progress = []api.Progress{{Files: 3, Bytes: 300, Done: true}}
	dir := startMember(t, f)
	r := run(t, dir, nil, "backup", t.TempDir())
	r.want(t, ExitOK)
	if !strings.Contains(r.stdout, "snapshot abababababab: 3 files") || !strings.Contains(r.stdout, "any 2 nodes") {
		t.Errorf("summary: %q", r.stdout)
	}
	// Not a terminal, no --json: progress as JSON lines on stderr.
	if !strings.Contains(r.stderr, `"progress":true`) {
		t.Errorf("no progress line on stderr: %q", r.stderr)
	}
}

func TestMemberBackupSkippedExits3(t *testing.T) {
	f := newMemberFake()
	f.result.Skipped = []api.Skipped{{Path: "/home/u/secret", Error: "permission denied"}, {Path: "/home/u/gone", Error: "no such file"}}
	dir := startMember(t, f)
	r := run(t, dir, nil, "backup", "/home/u", "--json")
	r.want(t, ExitSkipped)
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	sameKeys(t, "backup result", keysOf(t, lines[len(lines)-1]),
		"snapshot_id", "files", "bytes", "new_bytes", "duration_s", "tolerates_losses", "skipped")
	for _, want := range []string{"skipped: /home/u/secret: permission denied", "skipped: /home/u/gone: no such file"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not list %q:\n%s", want, r.stderr)
		}
	}
	r.oneErrorLine(t, "2 files or folders could not be read")
}

func TestMemberBackupStdinFrom(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the commands are sh")
	}
	f := newMemberFake()
	dir := startMember(t, f)
	r := run(t, dir, nil, "backup", "--stdin-from", "printf 'hello '; printf world", "--stdin-name", "db.sql", "--tag", "db", "--json")
	r.want(t, ExitOK)
	f.mu.Lock()
	defer f.mu.Unlock()
	if string(f.stdin) != "hello world" || f.readErr != nil {
		t.Errorf("the node read %q, %v", f.stdin, f.readErr)
	}
	if f.backup.StdinName != "db.sql" || len(f.backup.Paths) != 0 || !slices.Equal(f.backup.Tags, []string{"db"}) {
		t.Errorf("the node got %+v", f.backup)
	}
}

// A command that fails after some output: the node's read of the input
// fails (not io.EOF), so it makes no snapshot, and the CLI exits 1.
func TestMemberBackupStdinFromFails(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the commands are sh")
	}
	f := newMemberFake()
	dir := startMember(t, f)
	r := run(t, dir, nil, "backup", "--stdin-from", "printf partial; echo oops >&2; exit 3", "--stdin-name", "db.sql")
	r.want(t, ExitError)
	r.oneErrorLine(t, "exit status 3", "no snapshot")
	if !strings.Contains(r.stderr, "oops") {
		t.Errorf("the command's stderr is not passed on: %q", r.stderr)
	}
	if strings.Contains(r.stdout, "snapshot ") {
		t.Errorf("a snapshot was reported: %q", r.stdout)
	}
	select {
	case <-f.backupDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the node's backup did not end")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readErr == nil {
		t.Fatalf("the node read the input to a clean end (%q); it must see an error", f.stdin)
	}
	if f.calls["backup"] != 1 {
		t.Errorf("backup called %d times", f.calls["backup"])
	}
}

func TestMemberBackupStdinFromUnit(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the commands are sh")
	}
	var errb bytes.Buffer
	src, err := startCommand(context.Background(), "printf abc; exit 7", nil, &errb)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(src)
	src.stop()
	if string(b) != "abc" || err == nil || !strings.Contains(err.Error(), "exit status 7") {
		t.Errorf("read %q, %v; want abc and an error naming exit status 7", b, err)
	}

	src, err = startCommand(context.Background(), "printf abc", nil, &errb)
	if err != nil {
		t.Fatal(err)
	}
	b, err = io.ReadAll(src)
	src.stop()
	if string(b) != "abc" || err != nil {
		t.Errorf("read %q, %v; want abc and a clean end", b, err)
	}

	// Stopped while it still writes: the reader ends with an error.
	src, err = startCommand(context.Background(), "while :; do echo y; done", nil, &errb)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := src.Read(buf); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, src); done <- err }()
	src.stop()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a stopped command's output ended cleanly")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stop did not end the read")
	}
}

func TestMemberBackupUsageErrors(t *testing.T) {
	f := newMemberFake()
	dir := startMember(t, f)
	for _, c := range []struct {
		args []string
		say  string
	}{
		{[]string{"backup"}, "nothing to back up"},
		{[]string{"backup", "/x", "--stdin-from", "true", "--stdin-name", "a"}, "not both"},
		{[]string{"backup", "--stdin-from", "true"}, "--stdin-name"},
		{[]string{"backup", "/x", "--stdin-name", "a"}, "goes with --stdin-from"},
		{[]string{"backup", "--stdin-from", "true", "--stdin-name", "a/b"}, "plain file name"},
		{[]string{"backup", "--stdin-from", "true", "--stdin-name", ".."}, "plain file name"},
		{[]string{"backup", "--stdin-from", " ", "--stdin-name", "a"}, "needs a command"},
	} {
		r := run(t, dir, nil, c.args...)
		if r.code != ExitError {
			t.Errorf("%v: exit %d, want 1", c.args, r.code)
			continue
		}
		r.oneErrorLine(t, c.say)
	}
	if n := f.count("backup"); n != 0 {
		t.Errorf("the node was asked %d times", n)
	}
}

func TestMemberNoNode(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"backup", "/x"}, {"snapshots"}, {"ls", "latest"}, {"restore", "latest", "--target", "t"},
		{"check"}, {"forget", "--keep-last", "1"},
	} {
		r := run(t, dir, nil, args...)
		if r.code != ExitError || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "no node is running in") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

func TestMemberSnapshots(t *testing.T) {
	f := newMemberFake()
	dir := startMember(t, f)
	t.Setenv(envRecoveryKeyFile, "")

	r := run(t, dir, nil, "snapshots", "--json")
	r.want(t, ExitOK)
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("no snapshots: %q, want []", r.stdout)
	}

	f.mu.Lock()
	f.snaps = []api.Snapshot{{ID: strings.Repeat("cd", 32), Time: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC),
		Host: "laptop", Paths: []string{"/home/u"}, Tags: []string{"daily"}, Files: 5, Bytes: 500}}
	f.mu.Unlock()
	r = run(t, dir, nil, "snapshots", "--json")
	r.want(t, ExitOK)
	var list []json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 1 {
		t.Fatalf("%q: %v", r.stdout, err)
	}
	sameKeys(t, "snapshot", keysOf(t, string(list[0])), "id", "time", "host", "paths", "tags", "files", "bytes")

	r = run(t, dir, nil, "snapshots")
	r.want(t, ExitOK)
	for _, want := range []string{"ID", "cdcdcdcdcdcd", "laptop", "/home/u", "daily"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, k := range f.keys["snapshots"] {
		if !k.IsZero() {
			t.Errorf("call %d sent a recovery key though none was given", i)
		}
	}
}

func TestMemberRecoveryKeyFromFileAndEnv(t *testing.T) {
	key := newRecoveryKey(t)
	f := newMemberFake()
	f.needKey, f.wantKey = true, key
	dir := startMember(t, f)
	t.Setenv(envRecoveryKeyFile, "")

	// Without a key and without a terminal: the node's one line, exit 1.
	r := run(t, dir, nil, "ls", "latest")
	r.want(t, ExitError)
	r.oneErrorLine(t, "recovery key")

	// From the flag; the file may hold a comment and a lower-case key.
	file := writeKey(t, "# respaldo recovery key\n"+strings.ToLower(key.Reveal())+"\n")
	r = run(t, dir, nil, "ls", "abcd", "docs", "--recovery-key-file", file, "--json")
	r.want(t, ExitOK)
	var es []json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &es); err != nil || len(es) != 2 {
		t.Fatalf("%q: %v", r.stdout, err)
	}
	sameKeys(t, "ls entry", keysOf(t, string(es[0])), "path", "type", "size", "mode", "mtime")
	f.mu.Lock()
	if f.ls.Snapshot != "abcd" || f.ls.Path != "docs" {
		t.Errorf("ls request %+v", f.ls)
	}
	f.mu.Unlock()

	// From the environment.
	t.Setenv(envRecoveryKeyFile, file)
	r = run(t, dir, nil, "restore", "latest", "--target", "out", "--include", "docs/*", "--overwrite", "--json")
	r.want(t, ExitOK)
	sameKeys(t, "restore result", keysOf(t, r.stdout), "files", "bytes", "duration_s")
	wd, _ := os.Getwd()
	f.mu.Lock()
	if f.restore.Target != filepath.Join(wd, "out") || !slices.Equal(f.restore.Include, []string{"docs/*"}) ||
		!f.restore.Overwrite || f.restore.Snapshot != "latest" {
		t.Errorf("restore request %+v", f.restore)
	}
	f.mu.Unlock()

	r = run(t, dir, nil, "check", "--read-data", "--json")
	r.want(t, ExitOK)
	sameKeys(t, "check result", keysOf(t, r.stdout),
		"stripes", "healthy", "degraded", "at_risk", "lost", "underplaced", "read_errors", "tolerates_losses")

	r = run(t, dir, nil, "forget", "--keep-daily", "7", "--prune", "--json")
	r.want(t, ExitOK)
	var fr map[string]any
	json.Unmarshal([]byte(r.stdout), &fr)
	if _, ok := fr["kept"].([]any); !ok {
		t.Errorf("forget: kept is %v, want a list: %s", fr["kept"], r.stdout)
	}
	if rm, _ := fr["removed"].([]any); len(rm) != 1 {
		t.Errorf("forget: removed %v", fr["removed"])
	}
	f.mu.Lock()
	if f.forget.KeepDaily != 7 || !f.forget.Prune {
		t.Errorf("forget request %+v", f.forget)
	}
	f.mu.Unlock()

	// The flag wins over the environment.
	t.Setenv(envRecoveryKeyFile, filepath.Join(t.TempDir(), "missing"))
	r = run(t, dir, nil, "ls", "latest", "--recovery-key-file", file)
	r.want(t, ExitOK)
	if !strings.Contains(r.stdout, "-rw-r--r--") || !strings.Contains(r.stdout, "42 B") || !strings.Contains(r.stdout, "docs/a.txt") {
		t.Errorf("ls listing:\n%s", r.stdout)
	}
	r = run(t, dir, nil, "ls", "latest")
	r.want(t, ExitError)
	r.oneErrorLine(t, envRecoveryKeyFile, "missing")

	// Every call that succeeded carried the key.
	f.mu.Lock()
	defer f.mu.Unlock()
	for m, ks := range f.keys {
		for i, k := range ks {
			if got, ok := k.Key(); ok && got != key {
				t.Errorf("%s call %d: a different key", m, i)
			}
		}
	}
}

func TestMemberRecoveryKeyMalformed(t *testing.T) {
	key := newRecoveryKey(t)
	f := newMemberFake()
	f.needKey, f.wantKey = true, key
	dir := startMember(t, f)
	t.Setenv(envRecoveryKeyFile, "")

	// One character changed: a typo, named by group; the key never printed.
	good := key.Reveal()
	i := strings.LastIndexByte(good, '-') + 2
	c := byte('2')
	if good[i] == c {
		c = '3'
	}
	typo := good[:i] + string(c) + good[i+1:]
	for _, text := range []string{typo, "not a key at all", ""} {
		file := writeKey(t, text)
		r := run(t, dir, nil, "ls", "latest", "--recovery-key-file", file)
		r.want(t, ExitError)
		r.oneErrorLine(t, "--recovery-key-file "+file, "recovery key")
		if strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("more than one line: %q", r.stderr)
		}
		if strings.Contains(r.stderr, typo[4:20]) || strings.Contains(r.stderr, good[4:20]) {
			t.Errorf("the error shows the key: %q", r.stderr)
		}
	}
	if n := f.count("ls"); n != 0 {
		t.Errorf("the node was asked %d times with a malformed key", n)
	}
}

// The prompt: no key given, the node needs one, stdin is a terminal.
func TestMemberRecoveryKeyPrompt(t *testing.T) {
	key := newRecoveryKey(t)
	f := newMemberFake()
	f.needKey, f.wantKey = true, key
	dir := startMember(t, f)
	t.Setenv(envRecoveryKeyFile, "")

	oldTerm, oldRead := stdinIsTerminal, readSecret
	t.Cleanup(func() { stdinIsTerminal, readSecret = oldTerm, oldRead })
	stdinIsTerminal = func(io.Reader) bool { return true }
	readSecret = func(r io.Reader) (string, error) {
		s, err := bufio.NewReader(r).ReadString('\n')
		if err == io.EOF && s != "" {
			err = nil
		}
		return s, err
	}

	r := run(t, dir, strings.NewReader(key.Reveal()+"\n"), "restore", "latest", "--target", t.TempDir())
	r.want(t, ExitOK)
	if !strings.Contains(r.stderr, "Recovery key:") || strings.Contains(r.stderr, key.Reveal()) {
		t.Errorf("prompt: %q", r.stderr)
	}
	if !strings.Contains(r.stdout, "restored 7 files") {
		t.Errorf("stdout %q", r.stdout)
	}
	if n := f.count("restore"); n != 2 {
		t.Errorf("restore asked %d times, want 2 (without, then with the key)", n)
	}

	// A wrong key typed: one try only, the node's answer.
	r = run(t, dir, strings.NewReader(newRecoveryKey(t).Reveal()+"\n"), "restore", "latest", "--target", t.TempDir())
	r.want(t, ExitError)
	r.oneErrorLine(t, "not this member's")

	// A malformed key typed.
	r = run(t, dir, strings.NewReader("rk1-nonsense\n"), "check", "--read-data")
	r.want(t, ExitError)
	r.oneErrorLine(t, "the recovery key typed")

	// A given key is not asked for again, even if the node refuses it.
	other := writeKey(t, newRecoveryKey(t).Reveal())
	r = run(t, dir, strings.NewReader(key.Reveal()+"\n"), "ls", "latest", "--recovery-key-file", other)
	r.want(t, ExitError)
	if strings.Contains(r.stderr, "Recovery key:") {
		t.Errorf("asked for a key though one was given: %q", r.stderr)
	}
}

func TestMemberForgetPolicy(t *testing.T) {
	f := newMemberFake()
	dir := startMember(t, f)
	t.Setenv(envRecoveryKeyFile, "")
	for _, args := range [][]string{
		{"forget"},
		{"forget", "--keep-last", "0"},
		{"forget", "--prune"},
		{"forget", "--keep-last", "0", "--keep-daily", "0", "--keep-weekly", "0"},
	} {
		r := run(t, dir, nil, args...)
		if r.code != ExitError {
			t.Errorf("%v: exit %d, want 1", args, r.code)
			continue
		}
		r.oneErrorLine(t, "keeps nothing")
	}
	r := run(t, dir, nil, "forget", "--keep-weekly", "-1")
	r.want(t, ExitError)
	r.oneErrorLine(t, "negative")
	if n := f.count("forget"); n != 0 {
		t.Fatalf("the node was asked %d times", n)
	}

	r = run(t, dir, nil, "forget", "--keep-last", "3", "--json")
	r.want(t, ExitOK)
	sameKeys(t, "forget result", keysOf(t, r.stdout), "removed", "kept")
	if !strings.Contains(r.stdout, `"kept": []`) {
		t.Errorf("kept is not []: %s", r.stdout)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.forget.KeepLast != 3 || f.forget.Prune {
		t.Errorf("forget request %+v", f.forget)
	}
}

func TestMemberCheckHuman(t *testing.T) {
	f := newMemberFake()
	dir := startMember(t, f)
	t.Setenv(envRecoveryKeyFile, "")
	r := run(t, dir, nil, "check")
	r.want(t, ExitOK)
	if !strings.Contains(r.stdout, "10: 9 healthy, 1 degraded") || !strings.Contains(r.stdout, "any 1 node") {
		t.Errorf("check: %q", r.stdout)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.check.ReadData {
		t.Error("read_data sent without --read-data")
	}
}

func TestMemberHelp(t *testing.T) {
	for _, c := range []string{"backup", "snapshots", "ls", "restore", "check", "forget"} {
		var out, errb bytes.Buffer
		if code := Main([]string{c, "--help"}, strings.NewReader(""), &out, &errb); code != 0 {
			t.Errorf("%s --help: exit %d: %s", c, code, errb.String())
		}
		if !strings.Contains(out.String(), "Examples:") || !strings.Contains(out.String(), "respaldo "+c) {
			t.Errorf("%s --help has no example:\n%s", c, out.String())
		}
	}
}
