package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/govsr/govsr/vsr/bus"
)

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
