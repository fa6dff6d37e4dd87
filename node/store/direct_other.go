//go:build !linux

package store

import (
	"errors"
	"os"
)

// openDirect is 0 where direct I/O is not used: reads go through the page
// cache.
const openDirect = 0

// setDirect is not supported here: shard files go through the page cache.
func setDirect(*os.File, bool) error { return errors.ErrUnsupported }

// probeDirect: no direct I/O here.
func probeDirect(string) (bool, string) { return false, "no direct I/O on this system" }
