package vopr

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/govsr/govsr/vsr"
)

// superblockCopy returns a superblock copy's bytes holding only what the
// log start check reads: log_view and log_op.
func superblockCopy(logView uint32, logOp uint64) []byte {
	b := make([]byte, vsr.SectorSize)
	binary.LittleEndian.PutUint32(b[superblockViewOffset+4:], logView)
	binary.LittleEndian.PutUint64(b[superblockLogOpOffset:], logOp)
	return b
}

// A superblock write whose log_op is not where its log_view's log began
// (here the head the log grew to since, as a replica that wrote r.op for
// log_op would) is caught once the event that wrote it is over; a write
// just before the status event of the same step (a backup installing a
// start_view) is not, nor one of another log_view.
func TestCheckerPromisesCatchLogOpPastItsStart(t *testing.T) {
	s := newThreeReplicas(t)
	var got failures
	c := newPromisesChecker(s, &got)
	s.events = 10
	c.onWrite(1, 0, superblockCopy(4, 20)) // the install's write, then its status event
	c.starts.onStatus(1, &vsr.Event{Kind: vsr.EventStatus, Status: vsr.StatusNormal, View: 4, LogView: 4, Op: 20})
	s.events = 11
	c.onWrite(1, 0, superblockCopy(3, 50)) // an older log_view (a write the check cannot place)
	s.events = 12
	c.onWrite(1, 0, superblockCopy(4, 20))
	s.events = 13
	c.onWrite(1, 0, superblockCopy(4, 27))
	if len(got.messages) != 0 {
		t.Fatalf("failures %q before the write of log_op 27 was settled", got.messages)
	}
	s.events = 14
	c.onSend(1, make([]byte, vsr.HeaderSize))
	if len(got.messages) != 1 || !strings.Contains(got.messages[0], "log_op 27, but its log of view 4 began at op 20") {
		t.Fatalf("got failures %q, want one for log_op 27", got.messages)
	}
	if c.starts.checked != 3 {
		t.Fatalf("checked %d writes, want 3 (two of log_view 4 at op 20, one at 27)", c.starts.checked)
	}
}

// runPassing runs o cut to requestsMax replies and fails the test unless
// the run passes; it returns the simulator, for what its checkers saw.
func runPassing(t *testing.T, o Options, requestsMax int) *Simulator {
	t.Helper()
	o.RequestsMax = requestsMax
	s := mustNew(t, o)
	if res := s.Run(); res.Class != Pass {
		t.Fatalf("seed %d: %s: %s", o.Seed, res.Class, firstLine(res.Message))
	}
	return s
}

// Whole runs of the correct protocol check superblock writes (the check
// is not vacuous) and pass them.
func TestCheckerPromisesLogStartChecksRuns(t *testing.T) {
	var checked uint64
	for seed := uint64(1); seed <= 3; seed++ {
		checked += runPassing(t, Draw(seed, nil), 300).check.promises.starts.checked
	}
	if checked == 0 {
		t.Fatal("no superblock write was checked against the start of its log_view")
	}
}
