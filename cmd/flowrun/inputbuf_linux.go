package main

import "syscall"

// mapNoReserve: reserve no swap for the whole mapping; only the pages
// read into count.
const mapNoReserve = syscall.MAP_NORESERVE
