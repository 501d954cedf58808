//go:build !unix

package main

import "io/fs"

// checkSecretOwner: owners are not checked where Go reports no uid.
func checkSecretOwner(what, path string, fi fs.FileInfo) error { return nil }
