//go:build !temporal

package main

import "github.com/flowrun/flowrun/trigger"

// temporalBuilt says the Temporal engine is linked (-tags temporal); in
// this build it is not, and checkEngine and the commands stop before any of
// the functions below is reached.
const temporalBuilt = false

func runWorker(*env, *workerOptions) error { return errNoTemporal() }

func runStart(*env, *startOptions) error { return errNoTemporal() }

func (o *temporalOptions) ingress(*env, *trigger.Host) (func(), error) { return nil, errNoTemporal() }

func (o *scheduleOptions) create(_ *env, _ *trigger.Host, _ *trigger.Trigger, _ string) error {
	return o.check()
}

func (o *scheduleOptions) remove(*env, string) error { return o.check() }

func (o *scheduleOptions) pause(*env, string, bool) error { return o.check() }

func revokeOnTemporal(*env, string, string, string, *scheduleOptions) error { return errNoTemporal() }
