package keystore

import (
	"errors"
	"io/fs"
	"syscall"
	"testing"
)

func TestDiskFull(t *testing.T) {
	for _, tc := range []struct {
		err  error
		full bool
	}{
		{&fs.PathError{Op: "write", Path: "sdproxy.db", Err: syscall.ENOSPC}, true},
		{&fs.PathError{Op: "write", Path: "sdproxy.db", Err: syscall.EDQUOT}, true},
		{&fs.PathError{Op: "write", Path: "sdproxy.db", Err: syscall.EIO}, false},
		{ErrKeyLimit, false},
		{nil, false},
	} {
		err := diskFull(tc.err)
		if got := errors.Is(err, ErrStorageFull); got != tc.full || !errors.Is(err, tc.err) && tc.err != nil {
			t.Errorf("diskFull(%v) = %v, want ErrStorageFull %v and the cause kept", tc.err, err, tc.full)
		}
	}
}
