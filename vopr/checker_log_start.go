package vopr

import (
	"encoding/binary"
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// logStarts holds a replica to the promise its superblock's log_op makes
// (DESIGN.md, Recovery): log_op is the head of the log when log_view was
// set, the op its log_view's log began at. The open trusts it to tell a
// stale entry (above log_op and of another view: a view change truncated
// it in memory, its bytes are still on disk) from the log; a log_op above
// that start lets a crash bring such an entry back as part of the log.
//
// The start of each log_view is read off the wire of status events: a
// replica goes normal in a view with the head its log then has (a new
// primary's adopted log, a backup's installed start_view). A superblock
// write is checked once the simulator event that wrote it is over, since a
// backup installing a start_view writes the superblock just before it
// reports its new status. It is part of the promises checker.
type logStarts struct {
	start   [vsr.ReplicasMax]logStart
	pending [vsr.ReplicasMax]logStartWrite
	waiting bool   // some pending write is set
	checked uint64 // superblock writes checked against a known start
}

// logStart is where replica's log of view began (known: seen this run).
type logStart struct {
	known bool
	view  uint32
	op    uint64
}

// logStartWrite is a superblock write not checked yet: the log position
// it records and the simulator event that submitted it.
type logStartWrite struct {
	set     bool
	event   uint64
	logView uint32
	logOp   uint64
}

// superblockLogOpOffset is where a superblock copy holds log_op
// (vsr/superblock.go's layout; log_view follows view).
const superblockLogOpOffset = 160

// onSuperblockWrite records a superblock copy replica i writes.
func (l *logStarts) onSuperblockWrite(i int, event uint64, data []byte) {
	le := binary.LittleEndian
	l.pending[i] = logStartWrite{set: true, event: event, logView: le.Uint32(data[superblockViewOffset+4:]),
		logOp: le.Uint64(data[superblockLogOpOffset:])}
	l.waiting = true
}

// onStatus learns where replica i's log of a view began. A restart
// forgets it: the open takes log_op from the superblock, and the latest
// log start may not have been durable at the crash (the replica then
// works from an earlier one until it next goes normal).
func (l *logStarts) onStatus(i int, e *vsr.Event) {
	switch e.Status {
	case vsr.StatusNormal:
		l.start[i] = logStart{known: true, view: e.LogView, op: e.Op}
	case vsr.StatusRecovering:
		l.start[i] = logStart{}
	}
}

// settle checks the superblock writes of simulator events before event:
// a write recording the log_view whose start is known must record that
// start as its log_op.
func (l *logStarts) settle(event uint64, v verdicts) {
	if !l.waiting {
		return
	}
	l.waiting = false
	for i := range l.pending {
		w := &l.pending[i]
		if !w.set {
			continue
		}
		if w.event >= event {
			l.waiting = true
			continue
		}
		w.set = false
		s := l.start[i]
		if !s.known || s.view != w.logView {
			continue
		}
		l.checked++
		if s.op != w.logOp {
			v.fail(Correctness, fmt.Sprintf("replica %d wrote a superblock with log_view %d and log_op %d, but its log "+
				"of view %d began at op %d: an open would take entries above op %d of other views for its log",
				i, w.logView, w.logOp, s.view, s.op, s.op))
		}
	}
}

// forget: replica i's disk was replaced; its log starts again.
func (l *logStarts) forget(i int) {
	l.start[i], l.pending[i] = logStart{}, logStartWrite{}
}
