//go:build !linux && !darwin

package main

import "io"

// readOffHeap is not available here (see inputbuf_mmap.go): inputs are
// read onto the heap.
func readOffHeap(r io.Reader, size, limit, atLeast int64) (data []byte, release func(), ok bool, err error) {
	return nil, nil, false, nil
}
