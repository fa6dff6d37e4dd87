package backup

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"respaldo/crypto"
	"respaldo/erasure"
)

// Entry is a file, directory or symlink of a snapshot, as listed.
type Entry struct {
	// Path is slash-separated and relative to the snapshot's root, whose
	// entries are the backed-up paths by base name ("Documents/a.txt").
	Path   string      `json:"path"`
	Type   NodeType    `json:"type"`
	Size   int64       `json:"size"`
	Mode   fs.FileMode `json:"mode"`
	MTime  time.Time   `json:"mtime"`
	Target string      `json:"target,omitempty"` // symlinks
	UID    uint32      `json:"uid"`
	GID    uint32      `json:"gid"`
}

// MarshalText names the type in JSON: "file", "dir", "symlink".
func (t NodeType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

func entryOf(p string, n *node) Entry {
	return Entry{Path: p, Type: n.Type, Size: clampInt(n.Size), Mode: fileMode(n.Mode), MTime: time.Unix(0, n.MTime),
		Target: string(n.Target), UID: n.UID, GID: n.GID}
}

func joinPath(dir string, name []byte) string {
	if dir == "" {
		return string(name)
	}
	return dir + "/" + string(name)
}

// List returns the entries of the directory at path in snapshot snap ("" or
// "/" for the root), or the single entry at path if it is not a directory.
func (r *Reader) List(ctx context.Context, snap erasure.StripeID, path string) ([]Entry, error) {
	s, err := r.open(ctx, snap)
	if err != nil {
		return nil, err
	}
	path = strings.Trim(path, "/")
	tree, dir := s.Root, ""
	if path != "" {
		for _, name := range strings.Split(path, "/") {
			nodes, err := r.tree(ctx, tree)
			if err != nil {
				return nil, err
			}
			n := findNode(nodes, name)
			if n == nil {
				return nil, fmt.Errorf("backup: %s: %w", joinPath(dir, []byte(name)), fs.ErrNotExist)
			}
			dir = joinPath(dir, n.Name)
			if n.Type != NodeDir {
				if dir != path {
					return nil, fmt.Errorf("backup: %s is not a directory", dir)
				}
				return []Entry{entryOf(dir, n)}, nil
			}
			tree = n.subtree()
		}
	}
	nodes, err := r.tree(ctx, tree)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(nodes))
	for i := range nodes {
		out[i] = entryOf(joinPath(dir, nodes[i].Name), &nodes[i])
	}
	return out, nil
}

// Walk calls fn for every entry of snapshot snap, depth-first in name
// order, parents before children. It stops at fn's first error.
func (r *Reader) Walk(ctx context.Context, snap erasure.StripeID, fn func(Entry) error) error {
	s, err := r.open(ctx, snap)
	if err != nil {
		return err
	}
	return r.walkTree(ctx, s.Root, "", func(p string, n *node) error { return fn(entryOf(p, n)) })
}

func (r *Reader) walkTree(ctx context.Context, id crypto.ChunkID, dir string, fn func(string, *node) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	nodes, err := r.tree(ctx, id)
	if err != nil {
		return err
	}
	for i := range nodes {
		n := &nodes[i]
		p := joinPath(dir, n.Name)
		if err := fn(p, n); err != nil {
			return err
		}
		if n.Type == NodeDir {
			if err := r.walkTree(ctx, n.subtree(), p, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func findNode(nodes []node, name string) *node {
	for i := range nodes {
		if string(nodes[i].Name) == name {
			return &nodes[i]
		}
	}
	return nil
}
