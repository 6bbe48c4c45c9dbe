package vopr

// The simulator's parts (network, storage, workload, checkers) reach the
// Simulator only through the narrow interfaces below, each naming what one
// part uses: simulated time, the event queue, the log, and the failure sink
// (verdicts, checker.go). A part that needs another part (the network and
// the chaos scenarios, a disk and the promises checker) is handed that part
// by its own narrow interface, not found through the Simulator.

// clock is simulated time, in nanoseconds since the run began.
type clock interface {
	nowNs() uint64
}

// scheduler is the event queue: a part makes something happen later by
// scheduling an event at a simulated time.
type scheduler interface {
	schedule(e event)
}

// logger is the run's log. logs says whether a line of level would be
// written: a caller on a busy path asks first, as building a line's
// arguments allocates (each boxed into an interface, names formatted)
// even when the line is then thrown away.
type logger interface {
	logf(level LogLevel, format string, args ...any)
	logs(level LogLevel) bool
}

func (s *Simulator) nowNs() uint64            { return s.now }
func (s *Simulator) logs(level LogLevel) bool { return s.logLevel >= level }
func (s *Simulator) schedule(e event)         { s.queue.push(e) }

func (s *Simulator) scheduleClientTick(client int, at uint64) { s.queue.pushClientTick(client, at) }
