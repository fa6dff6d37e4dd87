package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"respaldo/node/api"
)

// The JSON keys of CLI.md, copied from it. This test guards the contract:
// a key renamed or removed fails here. Keys added beyond CLI.md are listed
// apart, so that adding one is a decision.
var contract = map[string]string{
	"status":         "peer_id zone version peers_total peers_online shards used_bytes free_bytes stripes repair_queue tolerates_losses",
	"status.stripes": "healthy degraded at_risk lost",
	"peers":          "id zone role addrs connected last_seen latency_ms availability free_bytes used_bytes shards version",
	"roster":         "seq kind peer_id zone role signed_by time",
	"backup":         "snapshot_id files bytes new_bytes duration_s tolerates_losses",
	"snapshots":      "id time host paths tags files bytes",
	"ls":             "path type size mode mtime",
	"restore":        "files bytes duration_s",
	"check":          "stripes healthy degraded at_risk lost underplaced read_errors tolerates_losses",
	"forget":         "removed kept",
	"revoke":         "revoked",
	"drain":          "moved remaining",
}

// Keys this API adds (CLI.md lists no keys for invite and progress lines).
var extra = map[string]string{
	"backup":   "skipped",
	"invite":   "invite mesh_id zone role expires addrs",
	"progress": "files dirs bytes new_bytes total_files total_bytes rate eta_s path elapsed_s done",
}

func keysOf(t *testing.T, name string, v any) {
	t.Helper()
	obj, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: not a JSON object: %v", name, v)
	}
	want := strings.Fields(contract[name] + " " + extra[name])
	slices.Sort(want)
	got := slices.Sorted(maps.Keys(obj))
	if !slices.Equal(got, want) {
		t.Errorf("%s: JSON keys\n got %v\nwant %v", name, got, want)
	}
}

func TestContractKeys(t *testing.T) {
	s, dir, _ := start(t, newFake(), api.ServerOptions{})
	decode := func(b []byte) any {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		return v
	}
	object := func(name, method, path, body string) map[string]any {
		resp, b := raw(t, s, dir, method, path, body, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
		}
		v := decode(b)
		keysOf(t, name, v)
		obj, _ := v.(map[string]any)
		return obj
	}
	list := func(name, method, path, body string) {
		resp, b := raw(t, s, dir, method, path, body, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
		}
		l, ok := decode(b).([]any)
		if !ok || len(l) == 0 {
			t.Fatalf("%s: want a non-empty list, got %s", name, b)
		}
		for _, v := range l {
			keysOf(t, name, v)
		}
	}

	st := object("status", "GET", "/v1/status", "")
	keysOf(t, "status.stripes", st["stripes"])
	list("peers", "GET", "/v1/peers", "")
	list("roster", "GET", "/v1/roster", "")
	object("invite", "POST", "/v1/invite", `{"zone":"office","ttl":"24h"}`)
	object("revoke", "POST", "/v1/revoke", `{"peer_id":"x"}`)
	object("drain", "POST", "/v1/drain", "")
	list("snapshots", "GET", "/v1/snapshots", "")
	list("snapshots", "POST", "/v1/snapshots", `{}`)
	list("ls", "POST", "/v1/ls", `{"snapshot":"latest"}`)
	object("restore", "POST", "/v1/restore", `{"snapshot":"latest","target":"/tmp/x"}`)
	object("check", "POST", "/v1/check", "")
	object("forget", "POST", "/v1/forget", `{"keep_last":1}`)

	// The backup stream: progress lines, then {"result": …}.
	resp, b := raw(t, s, dir, "POST", "/v1/backup", `{"paths":["/x"]}`+"\n", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("backup: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	var kinds []string
	for sc.Scan() {
		line := decode(sc.Bytes()).(map[string]any)
		for k, v := range line {
			kinds = append(kinds, k)
			switch k {
			case "progress":
				keysOf(t, "progress", v)
			case "result":
				keysOf(t, "backup", v)
			default:
				t.Errorf("backup stream: line with key %q", k)
			}
		}
	}
	if !slices.Equal(kinds, []string{"progress", "result"}) {
		t.Errorf("backup stream lines %v, want progress then result", kinds)
	}
}

// Lists and list fields are [] in JSON, never null.
func TestEmptyListsAreLists(t *testing.T) {
	f := newFake()
	s, dir, _ := start(t, emptyBackend{f}, api.ServerOptions{})
	for _, path := range []string{"/v1/peers", "/v1/roster", "/v1/snapshots"} {
		_, b := raw(t, s, dir, "GET", path, "", nil)
		if strings.TrimSpace(string(b)) != "[]" {
			t.Errorf("GET %s: %s, want []", path, b)
		}
	}
	_, b := raw(t, s, dir, "POST", "/v1/forget", `{"keep_last":1}`, nil)
	if strings.TrimSpace(string(b)) != `{"removed":[],"kept":[]}` {
		t.Errorf("forget: %s", b)
	}
}
