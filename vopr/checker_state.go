package vopr

import (
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// stateChecker checks that replicas agree on the replicated state after
// each op: the digest a replica reports when it executes an op covers its
// state machine and its client table (sessions, their latest requests and
// cached replies), so replicas that agree on the store but not on a
// session are caught too.
type stateChecker struct {
	v verdicts
	// digests[op] is the state digest after op, from the first replica
	// that executed it.
	digests []vsr.U128
}

func (c *stateChecker) onExecuted(replica int, e *vsr.Event) {
	for uint64(len(c.digests)) <= e.Op {
		c.digests = append(c.digests, vsr.U128{})
	}
	if d := c.digests[e.Op]; d.IsZero() {
		c.digests[e.Op] = e.Digest
	} else if d != e.Digest {
		c.v.fail(Correctness, fmt.Sprintf("replica %d state digest after op %d is %s, another replica's %s",
			replica, e.Op, e.Digest, d))
	}
}
