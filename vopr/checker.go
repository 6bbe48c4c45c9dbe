package vopr

import (
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// The checkers, one to a file (checker_*.go), each fed only what it needs:
//
//   - canonical chain: every commit matches one hash-chained history, and
//     holds only requests clients sent (checker_canonical.go);
//   - replies: a replied op is in that history and holds the request
//     (checker_replies.go);
//   - state: replicas agree on the state (store and client table) after
//     each op (checker_state.go);
//   - durability: view and log_view never go backwards across a restart
//     (checker_durability.go);
//   - timestamps: prepare timestamps grow along the history
//     (checker_timestamps.go);
//   - exactly once: a client request runs at most once, in order
//     (checker_exactly_once.go);
//   - promises: a prepare_ok, start_view, do_view_change or prepare leaves
//     a replica only once what it promises is on the replica's disk
//     (checker_promises.go);
//   - convergence: the end of the liveness phase (checker_convergence.go);
//   - linearizability: the clients' history, after the run
//     (linearizability.go).

// verdicts is what a checker needs of the simulator: to fail the run, and
// to log what it saw.
type verdicts interface {
	fail(class Class, message string)
	logf(level LogLevel, format string, args ...any)
}

// checker routes the replicas' events to the checkers, and keeps what the
// workload records for them: the requests clients sent and the clients'
// history.
type checker struct {
	v          verdicts
	stats      *Stats
	canonical  canonicalChecker
	replies    replyChecker
	state      stateChecker
	durability durabilityChecker
	timestamps timestampChecker
	once       exactlyOnceChecker
	promises   promisesChecker
	sent       map[vsr.U128]struct{} // checksums of every request a client sent; looked up only
	history    []historyOp
	marks      markCounter // coverage marks the replicas hit (marks.go)
	logMarks   bool        // the log is full: marks go to it too
}

func newChecker(s *Simulator) *checker {
	c := &checker{v: s, stats: &s.stats, sent: map[vsr.U128]struct{}{}, logMarks: s.logLevel >= logFull}
	c.canonical = canonicalChecker{v: s, sent: c.sent, messageSizeMax: s.opts.MessageSizeMax}
	c.replies = replyChecker{v: s, history: &c.canonical}
	c.state = stateChecker{v: s}
	c.durability = durabilityChecker{v: s}
	c.timestamps = timestampChecker{v: s.verdictsFor("timestamps")}
	c.once = newExactlyOnceChecker(s.verdictsFor("exactly-once"))
	c.promises = newPromisesChecker(s, s.verdictsFor("promises"))
	return c
}

// committed is the highest op the canonical history holds.
func (c *checker) committed() uint64 { return c.canonical.committed() }

// committedRequests returns the checksums of every committed request.
func (c *checker) committedRequests() map[vsr.U128]struct{} { return c.canonical.committedRequests() }

// onReply checks a reply a client received.
func (c *checker) onReply(w *workloadClient, r *vsr.ClientResult) {
	c.replies.onReply(w.index, w.lastRequest, r.Op)
}

// onEvent is every replica's event hook.
func (c *checker) onEvent(replica int, e *vsr.Event) {
	switch e.Kind {
	case vsr.EventCommitted:
		c.canonical.onCommitted(replica, e)
		c.timestamps.onCommitted(replica, e)
	case vsr.EventExecuted:
		c.state.onExecuted(replica, e)
	case vsr.EventApplied:
		c.once.onApplied(replica, e)
	case vsr.EventViolation:
		c.v.fail(Correctness, fmt.Sprintf("replica %d reported a protocol violation: %s", replica, e.Reason))
	case vsr.EventDurable:
		c.durability.onDurable(replica, e)
	case vsr.EventOpened:
		c.durability.onOpened(replica, e)
	case vsr.EventCheckpoint:
		c.stats.Checkpoints++
	case vsr.EventStateTransfer:
		c.stats.StateTransfers++
		c.v.logf(logShort, "replica %d took a checkpoint at op %d by state transfer", replica, e.Op)
	case vsr.EventMark:
		c.marks.add(e.Mark)
		c.promises.onMark(replica, e.Mark)
		if c.logMarks {
			c.v.logf(logFull, "replica %d: mark %s view=%d op=%d commit=%d", replica, e.Mark, e.View, e.Op, e.Commit)
		}
	case vsr.EventStatus:
		c.promises.starts.settle(c.promises.cluster.eventIndex(), c.promises.v)
		c.promises.starts.onStatus(replica, e)
		c.durability.recovery.onStatus(replica, e, c.durability.v)
		if e.Status == vsr.StatusViewChange {
			c.stats.ViewChanges++
		}
		c.v.logf(logShort, "replica %d: %s view=%d log_view=%d op=%d commit=%d %s",
			replica, e.Status, e.View, e.LogView, e.Op, e.Commit, e.Reason)
	}
}
