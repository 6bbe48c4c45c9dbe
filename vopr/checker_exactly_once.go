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
	// clients holds, for each client id a replica reported, which of its
	// requests ran and where; found by a scan (a run has a few clients,
	// and one id each, for all its sessions).
	clients []onceClient
	// sparse holds the requests whose numbers are too large for a
	// client's dense slice (none in a run that works); looked up only.
	sparse map[requestKey]uint64
}

// onceClient is what ran of one client's requests.
type onceClient struct {
	id vsr.U128
	// ops[r] is 1 + the op request r ran at (0: it has not run), for
	// request numbers below onceDenseMax; numbers only grow by one per
	// request, so the slice is as long as the client's requests.
	ops []uint64
	// latest is the client's highest request number that ran, and where;
	// ok once one has.
	latest requestAt
	ok     bool
}

// onceDenseMax bounds a client's dense slice: a request number at or
// above it (a run of that many requests, or a corrupt number a replica
// ran) is kept in the sparse map instead.
const onceDenseMax = 1 << 20

type requestKey struct {
	client  vsr.U128
	request uint32
}

type requestAt struct {
	request uint32
	op      uint64
}

func newExactlyOnceChecker(v verdicts) exactlyOnceChecker {
	return exactlyOnceChecker{v: v, sparse: map[requestKey]uint64{}}
}

func (c *exactlyOnceChecker) onApplied(replica int, e *vsr.Event) {
	client := c.client(e.Client)
	if op, ok := c.ranAt(client, e.Request); ok {
		if op != e.Op {
			c.v.fail(Correctness, fmt.Sprintf("replica %d ran request %d of client %s at op %d; it ran at op %d already",
				replica, e.Request, e.Client.Short(), e.Op, op))
		}
		return
	}
	c.setRanAt(client, e.Request, e.Op)
	// The first replica to run an op ran every op below it first, so new
	// requests arrive here in op order.
	if l := client.latest; client.ok && l.request >= e.Request {
		c.v.fail(Correctness, fmt.Sprintf("replica %d ran request %d of client %s at op %d, after its request %d at op %d",
			replica, e.Request, e.Client.Short(), e.Op, l.request, l.op))
		return
	}
	client.latest, client.ok = requestAt{request: e.Request, op: e.Op}, true
}

// client returns what ran of client id's requests, new if nothing has.
func (c *exactlyOnceChecker) client(id vsr.U128) *onceClient {
	for i := range c.clients {
		if c.clients[i].id == id {
			return &c.clients[i]
		}
	}
	c.clients = append(c.clients, onceClient{id: id})
	return &c.clients[len(c.clients)-1]
}

// ranAt returns the op request ran at, if it ran.
func (c *exactlyOnceChecker) ranAt(client *onceClient, request uint32) (uint64, bool) {
	if request >= onceDenseMax {
		op, ok := c.sparse[requestKey{client: client.id, request: request}]
		return op, ok
	}
	if uint64(request) < uint64(len(client.ops)) && client.ops[request] != 0 {
		return client.ops[request] - 1, true
	}
	return 0, false
}

// setRanAt records that request ran at op.
func (c *exactlyOnceChecker) setRanAt(client *onceClient, request uint32, op uint64) {
	if request >= onceDenseMax {
		c.sparse[requestKey{client: client.id, request: request}] = op
		return
	}
	for uint64(len(client.ops)) <= uint64(request) {
		client.ops = append(client.ops, 0)
	}
	client.ops[request] = op + 1
}
