package vopr

import (
	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/kv"
)

// MachineBugs are deliberate state machine bugs, for showing that the
// checkers catch what only they can: "diverge-state" makes replica 1 skip
// some writes (the state checker), "stale-read" makes some reads answer
// not-found on every replica alike (only linearizability can tell).
var MachineBugs = []string{"diverge-state", "stale-read"}

// buggyMachine wraps the key-value store with a deliberate bug.
type buggyMachine struct {
	*kv.Store
	bug     string
	replica int
}

func (s *Simulator) machineFor(replica int, store *kv.Store) vsr.StateMachine {
	switch s.opts.Bug {
	case "diverge-state", "stale-read":
		return &buggyMachine{Store: store, bug: s.opts.Bug, replica: replica}
	}
	return store
}

func (m *buggyMachine) Apply(op, timestamp uint64, operation vsr.Operation, input, output []byte) int {
	switch {
	case m.bug == "diverge-state" && m.replica == 1 && operation == kv.OperationWrite && op%4 == 0:
		output[0] = byte(kv.StatusOK) // claims the write, skips it
		return 1
	case m.bug == "stale-read" && operation == kv.OperationRead && op%3 == 0:
		output[0] = byte(kv.StatusNotFound)
		return 1
	}
	return m.Store.Apply(op, timestamp, operation, input, output)
}
