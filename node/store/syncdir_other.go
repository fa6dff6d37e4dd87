//go:build windows || plan9

package store

// syncDir is a no-op where directories cannot be fsynced; NTFS journals
// renames itself.
func syncDir(string) error { return nil }
