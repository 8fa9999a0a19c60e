//go:build temporal

package main

import (
	"testing"

	tengine "github.com/flowrun/flowrun/engine/temporal"
)

// The defaults temporal_flags.go repeats (so a build without the engine
// shows them) are engine/temporal's.
func TestTemporalDefaultsAgree(t *testing.T) {
	if defaultLargePayload != tengine.DefaultLargePayload {
		t.Errorf("defaultLargePayload = %d, engine/temporal says %d", defaultLargePayload, tengine.DefaultLargePayload)
	}
	if defaultLoopPart != tengine.DefaultLoopPart {
		t.Errorf("defaultLoopPart = %d, engine/temporal says %d", defaultLoopPart, tengine.DefaultLoopPart)
	}
}
