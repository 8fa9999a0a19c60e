//go:build race

package run

// raceEnabled: the race detector slows loops tenfold; the long tests shrink.
const raceEnabled = true
