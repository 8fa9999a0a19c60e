package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	tengine "github.com/flowrun/flowrun/engine/temporal"
	"github.com/flowrun/flowrun/trigger"
)

// scheduleOptions are the trigger commands' flags for polls as Temporal
// Schedules (--engine temporal).
type scheduleOptions struct {
	engine       string
	temporal     temporalOptions
	connectionID string
}

func (o *scheduleOptions) flags(cmd *cobra.Command, on bool) {
	cmd.Flags().StringVar(&o.engine, "engine", "", `"temporal": a poll trigger is a Temporal Schedule (poll/<trigger>) run by flowrun worker`)
	o.temporal.flags(cmd)
	if on {
		cmd.Flags().StringVar(&o.connectionID, "connection-id", "", "with --engine temporal: the connection's id in the workers' --connections (default: the --connection file's name)")
	}
}

func (o *scheduleOptions) check() error {
	switch o.engine {
	case "", "temporal":
		return nil
	}
	return usageErr("--engine %q: the only engine is temporal", o.engine)
}

// create makes a poll trigger's Schedule; when that fails, the trigger is
// turned off again.
func (o *scheduleOptions) create(e *env, h *trigger.Host, t *trigger.Trigger, connFile string) error {
	if err := o.check(); err != nil || o.engine == "" || t.Kind != "poll" {
		return err
	}
	every := h.Runner.Project.Flow(t.Flow).Schedule
	if v := os.Getenv("FLOWRUN_POLL_EVERY"); v != "" { // test-only, as for serve
		d, err := time.ParseDuration(v)
		if err != nil {
			return usageErr("FLOWRUN_POLL_EVERY: %v", err)
		}
		every = d
	}
	id := o.connectionID
	if id == "" {
		id = connectionName(connFile)
	}
	c, err := o.temporal.dial(e)
	if err == nil {
		defer c.Close()
		err = tengine.SchedulePoll(e.ctx, c, o.temporal.taskQueue, tengine.PollInput{Project: t.Project, Trigger: t.ID, ConnectionID: id}, every)
	}
	if err != nil {
		if oerr := h.Off(e.ctx, t.ID); oerr != nil {
			err = fmt.Errorf("%v (and turning the trigger off again: %v)", err, oerr)
		}
		return &exitError{code: exitFailed, msg: fmt.Sprintf("schedule %s: %v", tengine.PollScheduleID(t.ID), err)}
	}
	fmt.Fprintf(e.stdout, "schedule %s polls every %s on task queue %q\n", tengine.PollScheduleID(t.ID), every, o.temporal.taskQueue)
	return nil
}

// remove deletes a poll trigger's Schedule.
func (o *scheduleOptions) remove(e *env, triggerID string) error {
	if err := o.check(); err != nil || o.engine == "" {
		return err
	}
	c, err := o.temporal.dial(e)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := tengine.DeletePollSchedule(e.ctx, c, triggerID); err != nil {
		return &exitError{code: exitFailed, msg: fmt.Sprintf("schedule %s: %v", tengine.PollScheduleID(triggerID), err)}
	}
	fmt.Fprintf(e.stdout, "schedule %s is deleted\n", tengine.PollScheduleID(triggerID))
	return nil
}

// pause pauses or unpauses a poll trigger's Schedule.
func (o *scheduleOptions) pause(e *env, triggerID string, pause bool) error {
	if err := o.check(); err != nil || o.engine == "" {
		return err
	}
	c, err := o.temporal.dial(e)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := tengine.PausePollSchedule(e.ctx, c, triggerID, pause, "flowrun trigger"); err != nil {
		return &exitError{code: exitFailed, msg: fmt.Sprintf("schedule %s: %v", tengine.PollScheduleID(triggerID), err)}
	}
	return nil
}
