//go:build !unix

package connection

// lockFile does nothing where flock is not available: token refreshes are
// coordinated within one process only.
func lockFile(string) (func(), error) { return func() {}, nil }
