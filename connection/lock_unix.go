//go:build unix

package connection

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on path (created 0600 when
// missing), waiting for it; the func releases it. The lock file is left in
// place: removing it would let two processes lock different files.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
