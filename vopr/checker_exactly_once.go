package vopr

import (
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// exactlyOnceChecker checks that each client request runs in the state
// machine at most once in the canonical history, and that a client's
// requests run in the order it numbered them. It sees executions
// (vsr.EventApplied), not commits: a request may be prepared twice (a
// retry across a view change) and legitimately committed twice, as long
// as the session rules skip the second copy. A client's request numbers
// only grow, across its sessions too, so (client, request number) names
// one request for the whole run, even where the linearizability checker
// must treat the request as unknown (an evicted client's, say).
//
// Every replica executes the same history, so a request reported at two
// different ops (by one replica or by two) ran twice or diverged; the same
// op reported again is another replica (or a restart replaying it).
type exactlyOnceChecker struct {
	v verdicts
	// applied maps each request that ran to its op; looked up only.
	applied map[requestKey]uint64
	// latest is each client's highest request number that ran, and where.
	latest map[vsr.U128]requestAt
}

type requestKey struct {
	client  vsr.U128
	request uint32
}

type requestAt struct {
	request uint32
	op      uint64
}

func newExactlyOnceChecker(v verdicts) exactlyOnceChecker {
	return exactlyOnceChecker{v: v, applied: map[requestKey]uint64{}, latest: map[vsr.U128]requestAt{}}
}

func (c *exactlyOnceChecker) onApplied(replica int, e *vsr.Event) {
	key := requestKey{client: e.Client, request: e.Request}
	if op, ok := c.applied[key]; ok {
		if op != e.Op {
			c.v.fail(Correctness, fmt.Sprintf("replica %d ran request %d of client %s at op %d; it ran at op %d already",
				replica, e.Request, e.Client.Short(), e.Op, op))
		}
		return
	}
	c.applied[key] = e.Op
	// The first replica to run an op ran every op below it first, so new
	// requests arrive here in op order.
	if l, ok := c.latest[e.Client]; ok && l.request >= e.Request {
		c.v.fail(Correctness, fmt.Sprintf("replica %d ran request %d of client %s at op %d, after its request %d at op %d",
			replica, e.Request, e.Client.Short(), e.Op, l.request, l.op))
		return
	}
	c.latest[e.Client] = requestAt{request: e.Request, op: e.Op}
}
