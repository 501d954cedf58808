// Package safefile opens the files sdproxy keeps in its data directory
// without letting a symlink planted there decide where a new file is made.
package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// OpenNoFollowCreate is os.OpenFile (and bbolt's Options.OpenFile) that
// opens an existing file as it is (also through a symlink, say to another
// disk) but creates a new one only with O_EXCL, which never follows a
// symlink: a symlink planted in the data directory, pointing where
// nothing is yet, does not make sdproxy create that file, as its user,
// anywhere. Such a symlink is refused with an error naming it.
func OpenNoFollowCreate(name string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(name, flag&^os.O_CREATE, perm)
	if err == nil || flag&os.O_CREATE == 0 || !errors.Is(err, fs.ErrNotExist) {
		return f, err
	}
	f, err = os.OpenFile(name, flag|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		if fi, lerr := os.Lstat(name); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("%s is a symlink to a file that does not exist: refusing to create a file through it", name)
		}
	}
	return f, err
}
