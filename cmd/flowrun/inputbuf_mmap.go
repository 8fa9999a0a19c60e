//go:build linux || darwin

package main

import (
	"io"
	"syscall"
)

// readOffHeap reads at most limit bytes of r into memory mapped outside Go's
// heap, when there may be atLeast of them or more (size is what a file's
// stat says, or -1 when not known). It reports ok false when it did not
// (small inputs, a failed mapping); release gives the memory back, and
// must only be called once nothing points into data any more.
//
// Why: a large --input list is kept as text while a for_each decodes it
// item by item (value.LazyList). On the heap, those bytes would count
// towards the garbage collector's goal (by default twice the live heap),
// so 42 MB of text would let the heap grow to ~95 MB of mostly garbage
// items; outside it, the collector sizes the heap by the values the run
// really holds.
func readOffHeap(r io.Reader, size, limit, atLeast int64) (data []byte, release func(), ok bool, err error) {
	n := limit
	if size >= 0 {
		if size < atLeast {
			return nil, nil, false, nil
		}
		n = min(size+1, limit) // +1: see whether the file grew
	}
	buf, merr := syscall.Mmap(-1, 0, int(n), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if merr != nil {
		return nil, nil, false, nil
	}
	release = func() { _ = syscall.Munmap(buf) }
	got, err := io.ReadFull(r, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	if err != nil {
		release()
		return nil, nil, false, err
	}
	_ = syscall.Mprotect(buf, syscall.PROT_READ) // the text never changes once read
	return buf[:got:got], release, true, nil
}
