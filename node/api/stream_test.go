package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"respaldo/node/api"
)

// Progress reaches the client while the backup runs: the Backend waits for
// the client to have seen each line before it goes on.
func TestBackupProgressBeforeResult(t *testing.T) {
	f := newFake()
	seen := make(chan int64, 10)
	f.backup = func(ctx context.Context, _ api.BackupRequest, progress func(api.Progress)) (api.BackupResult, error) {
		for i := int64(1); i <= 3; i++ {
			progress(api.Progress{Files: i, Path: "/x/f"})
			select {
			case n := <-seen:
				if n != i {
					t.Errorf("client saw %d, want %d", n, i)
				}
			case <-time.After(5 * time.Second):
				t.Error("progress line did not reach the client while the backup ran")
			}
			time.Sleep(120 * time.Millisecond) // past the throttle
		}
		progress(api.Progress{Files: 3, Done: true})
		return fixedBackup, nil
	}
	_, _, c := start(t, f, api.ServerOptions{})
	var got []api.Progress
	res, err := c.Backup(context.Background(), api.BackupRequest{Paths: []string{"/x"}}, func(p api.Progress) {
		got = append(got, p)
		if !p.Done {
			seen <- p.Files
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.SnapshotID != fixedBackup.SnapshotID {
		t.Errorf("result %+v", res)
	}
	if len(got) != 4 || !got[3].Done {
		t.Errorf("progress %+v, want 3 lines then Done", got)
	}
}

// Progress does not wait for the client: a Backend calling progress in a
// tight loop is throttled, and the last (Done) line always arrives.
func TestBackupProgressThrottled(t *testing.T) {
	f := newFake()
	f.backup = func(ctx context.Context, _ api.BackupRequest, progress func(api.Progress)) (api.BackupResult, error) {
		for i := range int64(100000) {
			progress(api.Progress{Files: i})
		}
		progress(api.Progress{Files: 100000, Done: true})
		return fixedBackup, nil
	}
	_, _, c := start(t, f, api.ServerOptions{})
	var got []api.Progress
	if _, err := c.Backup(context.Background(), api.BackupRequest{Paths: []string{"/x"}}, func(p api.Progress) { got = append(got, p) }); err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || len(got) > 100 || !got[len(got)-1].Done {
		t.Errorf("%d progress lines, last %+v", len(got), got[len(got)-1])
	}
}

// --stdin-from: the command's output streams in the request body while
// progress streams back (full duplex), and reaches the Backend whole.
func TestBackupStdin(t *testing.T) {
	f := newFake()
	pr, pw := io.Pipe()
	f.backup = nil
	gotFirst := make(chan struct{})
	f2 := &stdinBackend{fakeBackend: f, first: gotFirst}
	_, _, c := start(t, f2, api.ServerOptions{})
	go func() {
		pw.Write([]byte("part one,"))
		<-gotFirst // the Backend read it and sent progress, which the client got
		pw.Write([]byte("part two"))
		pw.Close()
	}()
	var lines int
	res, err := c.Backup(context.Background(), api.BackupRequest{StdinName: "db.sql", Stdin: pr, Tags: []string{"db"}},
		func(p api.Progress) {
			if lines == 0 {
				close(gotFirst)
			}
			lines++
		})
	if err != nil {
		t.Fatal(err)
	}
	if res.Bytes != int64(len("part one,part two")) || string(f2.got) != "part one,part two" {
		t.Errorf("backend read %q (result %+v)", f2.got, res)
	}
	if r := f.req("backup").(api.BackupRequest); r.StdinName != "db.sql" || len(r.Paths) != 0 {
		t.Errorf("request %+v", r)
	}
}

// stdinBackend reads Stdin until the first chunk, sends progress, then reads the rest.
type stdinBackend struct {
	*fakeBackend
	first chan struct{}
	got   []byte
}

func (b *stdinBackend) Backup(ctx context.Context, req api.BackupRequest, progress func(api.Progress)) (api.BackupResult, error) {
	b.record("backup", api.BackupRequest{StdinName: req.StdinName, Tags: req.Tags})
	buf := make([]byte, 9)
	if _, err := io.ReadFull(req.Stdin, buf); err != nil {
		return api.BackupResult{}, err
	}
	progress(api.Progress{Bytes: 9, Path: req.StdinName})
	rest, err := io.ReadAll(req.Stdin)
	if err != nil {
		return api.BackupResult{}, err
	}
	b.got = append(buf, rest...)
	return api.BackupResult{SnapshotID: "s", Bytes: int64(len(b.got))}, nil
}

// A failing command fails the backup: the Backend sees an error, not EOF,
// and the client reports the command's error.
func TestBackupStdinFails(t *testing.T) {
	f := newFake()
	f.stdinErr = make(chan error, 1)
	_, _, c := start(t, f, api.ServerOptions{})
	cmdErr := errors.New("pg_dump exited with status 1")
	in := io.MultiReader(strings.NewReader("partial dump"), errAfter{cmdErr})
	_, err := c.Backup(context.Background(), api.BackupRequest{StdinName: "db.sql", Stdin: in}, nil)
	if err == nil || !strings.Contains(err.Error(), cmdErr.Error()) {
		t.Fatalf("backup with a failing command: %v", err)
	}
	oneLine(t, err.Error())
	t.Log(err)
	select {
	case err := <-f.stdinErr:
		if err == nil {
			t.Error("the Backend's stdin ended with EOF: it would have made a snapshot of a cut-short dump")
		}
		t.Logf("backend's stdin: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the Backend's stdin did not end")
	}
	if f.req("backup") != nil {
		t.Error("the Backend made a backup of a cut-short input")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !bytes.HasPrefix([]byte("partial dump"), f.stdin) {
		t.Errorf("backend read %q", f.stdin)
	}
}

type errAfter struct{ err error }

func (e errAfter) Read([]byte) (int, error) { return 0, e.err }

// Closing the terminal does not stop a backup: the client's ctx ends, the
// Backend's does not, and it finishes.
func TestBackupOutlivesClient(t *testing.T) {
	f := newFake()
	started, release, finished := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	f.backup = func(ctx context.Context, _ api.BackupRequest, progress func(api.Progress)) (api.BackupResult, error) {
		close(started)
		<-release
		progress(api.Progress{Files: 1}) // to a client that is gone: must not block or fail
		finished <- ctx.Err()
		return fixedBackup, nil
	}
	_, _, c := start(t, f, api.ServerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Backup(ctx, api.BackupRequest{Paths: []string{"/x"}}, nil)
		errc <- err
	}()
	<-started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("client after cancel: %v", err)
	}
	time.Sleep(50 * time.Millisecond) // let the server see the connection close
	close(release)
	select {
	case err := <-finished:
		if err != nil {
			t.Errorf("the backup's ctx ended with the client: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the backup did not finish")
	}
}

// Shutdown waits for a running backup until its ctx ends, then cancels it.
func TestShutdownCancelsOperations(t *testing.T) {
	f := newFake()
	started := make(chan struct{})
	f.backup = func(ctx context.Context, _ api.BackupRequest, _ func(api.Progress)) (api.BackupResult, error) {
		close(started)
		<-ctx.Done()
		return api.BackupResult{}, ctx.Err()
	}
	s, dir, c := start(t, f, api.ServerOptions{})
	errc := make(chan error, 1)
	go func() {
		_, err := c.Backup(context.Background(), api.BackupRequest{Paths: []string{"/x"}}, nil)
		errc <- err
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v", err)
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Error("backup succeeded")
		}
		oneLine(t, err.Error())
		t.Log(err)
	case <-time.After(5 * time.Second):
		t.Fatal("the client still waits")
	}
	if _, err := api.Dial(dir); !errors.Is(err, api.ErrNodeNotRunning) {
		t.Errorf("Dial after Shutdown: %v", err)
	}
}
