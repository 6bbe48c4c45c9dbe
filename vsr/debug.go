package vsr

import (
	"fmt"
	"strings"
)

// DescribeLog summarizes the log above the executed prefix: for each op,
// whether the journal names it, holds its prepare, and links to the op
// below. The simulator prints it when a run fails for want of liveness.
func (r *Replica) DescribeLog() string {
	var b strings.Builder
	fmt.Fprintf(&b, "log: op=%d commit_min=%d floor=%d connected=%v faulty_slots=%d journal_limit=%d durable_checkpoint=%d",
		r.op, r.commitMin, r.canonicalFloor(), r.logConnected(), r.journal.faultyCount, r.journalLimit(), r.durableCheckpoint().op)
	gaps := 0
	for op := r.commitMin + 1; op <= r.op && gaps < 8; op++ {
		h := r.journal.header(op)
		switch {
		case h == nil:
			fmt.Fprintf(&b, "; op %d: no header", op)
			gaps++
		case !r.journal.hasPrepare(op):
			fmt.Fprintf(&b, "; op %d: header only (view %d)", op, h.View)
			gaps++
		case op > r.commitMin+1 && r.journal.header(op-1) != nil && r.journal.header(op-1).Checksum != h.Parent:
			fmt.Fprintf(&b, "; op %d: does not link to op %d", op, op-1)
			gaps++
		}
	}
	return b.String()
}
