// Command flowrun validates, runs and tests connector projects written in the
// flowrun connector language, and hosts their webhook and poll triggers.
//
// main is thin: every command lives in this package as a cobra command with
// an options struct and a run function that tests call with buffers.
package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
