package backup

import (
	"bytes"
	"io/fs"

	"respaldo/crypto"
)

// NodeType is the kind of a tree node.
type NodeType uint8

const (
	NodeFile    NodeType = 1
	NodeDir     NodeType = 2
	NodeSymlink NodeType = 3
)

func (t NodeType) String() string {
	switch t {
	case NodeFile:
		return "file"
	case NodeDir:
		return "dir"
	case NodeSymlink:
		return "symlink"
	}
	return "unknown"
}

const (
	treeVersion = 1
	// maxTreeSize bounds a directory's encoded tree (about 300,000 entries).
	maxTreeSize = 32 << 20
	idLen       = len(crypto.ChunkID{})
)

// treeRecord is one directory: its entries sorted by name bytes. It is
// stored as a chunk of type tree whose ID is the keyed hash of its bytes,
// so an unchanged directory gives the same chunk and is not stored again.
// Nothing in it depends on the run (no atime, no ctime, no inode).
type treeRecord struct {
	V     uint   `cbor:"1,keyasint"`
	Nodes []node `cbor:"2,keyasint"`
}

// node is one directory entry. Names and symlink targets are byte strings:
// file names need not be UTF-8.
type node struct {
	Name   []byte   `cbor:"1,keyasint"`
	Type   NodeType `cbor:"2,keyasint"`
	Mode   uint32   `cbor:"3,keyasint"` // permission bits with setuid, setgid, sticky (07777)
	MTime  int64    `cbor:"4,keyasint"` // ns since 1970
	Size   uint64   `cbor:"5,keyasint,omitempty"`
	Chunks []byte   `cbor:"6,keyasint,omitempty"` // file: the chunk IDs, 32 bytes each, in order
	Tree   []byte   `cbor:"7,keyasint,omitempty"` // dir: the subtree's chunk ID
	Target []byte   `cbor:"8,keyasint,omitempty"` // symlink: the target
	UID    uint32   `cbor:"9,keyasint,omitempty"`
	GID    uint32   `cbor:"10,keyasint,omitempty"`
}

func (n *node) chunkIDs() []crypto.ChunkID {
	ids := make([]crypto.ChunkID, len(n.Chunks)/idLen)
	for i := range ids {
		copy(ids[i][:], n.Chunks[i*idLen:])
	}
	return ids
}

func (n *node) subtree() (id crypto.ChunkID) { copy(id[:], n.Tree); return id }

func encodeTree(nodes []node) ([]byte, error) {
	return marshal(treeRecord{V: treeVersion, Nodes: nodes})
}

// decodeTree decodes and checks a tree: names unique, sorted, and safe to
// create (not empty, ".", "..", and without '/' or NUL), fields consistent
// with the type. It never panics.
func decodeTree(b []byte) ([]node, error) {
	var t treeRecord
	if err := unmarshal("tree", b, &t); err != nil {
		return nil, err
	}
	if t.V != treeVersion {
		return nil, corruptf("tree: version %d, want %d", t.V, treeVersion)
	}
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if !safeName(n.Name) {
			return nil, corruptf("tree: unsafe name %q", n.Name)
		}
		if i > 0 && bytes.Compare(t.Nodes[i-1].Name, n.Name) >= 0 {
			return nil, corruptf("tree: names not sorted or repeated at %q", n.Name)
		}
		if n.Mode&^07777 != 0 {
			return nil, corruptf("tree: %q: mode %o", n.Name, n.Mode)
		}
		ok := false
		switch n.Type {
		case NodeFile:
			ok = len(n.Chunks)%idLen == 0 && n.Tree == nil && n.Target == nil &&
				(n.Size == 0) == (len(n.Chunks) == 0) && uint64(len(n.Chunks)/idLen) <= n.Size
		case NodeDir:
			ok = len(n.Tree) == idLen && n.Chunks == nil && n.Target == nil && n.Size == 0
		case NodeSymlink:
			ok = len(n.Target) > 0 && n.Chunks == nil && n.Tree == nil
		}
		if !ok {
			return nil, corruptf("tree: %q: fields do not fit a node of type %v", n.Name, n.Type)
		}
	}
	return t.Nodes, nil
}

func safeName(b []byte) bool {
	return len(b) > 0 && string(b) != "." && string(b) != ".." &&
		bytes.IndexByte(b, '/') < 0 && bytes.IndexByte(b, 0) < 0
}

// unixMode keeps the permission bits and setuid, setgid and sticky as
// their Unix values.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 04000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 02000
	}
	if m&fs.ModeSticky != 0 {
		u |= 01000
	}
	return u
}

// fileMode is the inverse of unixMode.
func fileMode(u uint32) fs.FileMode {
	m := fs.FileMode(u & 0777)
	if u&04000 != 0 {
		m |= fs.ModeSetuid
	}
	if u&02000 != 0 {
		m |= fs.ModeSetgid
	}
	if u&01000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}
