package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/govsr/govsr/server"
	"github.com/govsr/govsr/vsr/bus"
)

// chaosFlags adds the flags a chaos test starts replicas with; the
// returned string is --bus-faults, for parseBusFaults.
func (c *command) chaosFlags() *string {
	spec := c.fs.String("bus-faults", "", "chaos testing: drop, delay and corrupt messages, isolate the replica, "+
		"e.g. seed=7,drop=1/100,delay=1/50,delay-mean=20ms,corrupt=1/1000,isolate=1/200,isolate-mean=1s "+
		"(SIGUSR1 arms, SIGUSR2 disarms, SIGHUP isolates for isolate-mean)")
	c.fs.DurationVar(&c.config.StatusInterval, "status-interval", 5*time.Second, "how often to print the replica's status line")
	return spec
}

// parseBusFaults sets c.BusFaults from --bus-faults ("" leaves them off).
func parseBusFaults(c *server.Config, spec string) error {
	if spec == "" {
		return nil
	}
	var err error
	c.BusFaults, err = bus.ParseFaults(spec)
	return err
}

// armOnSignals lets a chaos test turn the bus's fault injection on
// (SIGUSR1) and off (SIGUSR2) in a running replica, so that it can heal the
// network without restarting anything, and cut the replica off from its
// peers for the spec's isolate-mean (SIGHUP), which it aims at the primary.
// The handler is installed before the replica says it listens; the
// returned function removes it.
func armOnSignals(loop *bus.Loop, spec *bus.Faults) (stop func()) {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP)
	go func() {
		for s := range signals { // each call is atomic: safe beside the loop's goroutine
			if s == syscall.SIGHUP {
				loop.IsolateFor(spec.IsolateMean)
				continue
			}
			loop.ArmFaults(s == syscall.SIGUSR1)
		}
	}()
	return func() {
		signal.Stop(signals)
		close(signals) // no send follows Stop
	}
}
