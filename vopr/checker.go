package vopr

import (
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// checker holds the canonical history every replica must agree with, fed
// by the replicas' events as they happen.
type checker struct {
	sim *Simulator
	// canonical[op] is the first commit seen of op; every later commit of
	// op, on any replica, must match it.
	canonical []canonicalEntry
	// digests[op] is the state digest after op, from the first replica
	// that executed it.
	digests []vsr.U128
	sent    map[vsr.U128]struct{} // checksums of every request a client sent; looked up only
	history []historyOp
	// durable[i] is replica i's latest superblock update known durable:
	// after a restart it must not find its view or log_view older.
	durable [6]struct{ view, logView uint32 }
}

type canonicalEntry struct {
	checksum vsr.U128
	parent   vsr.U128
	requests []vsr.U128
	ok       bool
}

func newChecker(s *Simulator) *checker {
	return &checker{sim: s, sent: map[vsr.U128]struct{}{}}
}

func (c *checker) committed() uint64 {
	return uint64(max(len(c.canonical)-1, 0))
}

// onEvent is every replica's event hook.
func (c *checker) onEvent(replica int, e *vsr.Event) {
	switch e.Kind {
	case vsr.EventCommitted:
		c.onCommitted(replica, e)
	case vsr.EventExecuted:
		c.onExecuted(replica, e)
	case vsr.EventViolation:
		c.sim.fail(Correctness, fmt.Sprintf("replica %d reported a protocol violation: %s", replica, e.Reason))
	case vsr.EventDurable:
		c.durable[replica].view, c.durable[replica].logView = e.View, e.LogView
	case vsr.EventOpened:
		d := c.durable[replica]
		if e.View < d.view || e.LogView < d.logView {
			c.sim.fail(Correctness, fmt.Sprintf("replica %d reopened at view %d log_view %d, but view %d log_view %d were durable",
				replica, e.View, e.LogView, d.view, d.logView))
		}
		c.sim.logf(logShort, "replica %d opened: view=%d log_view=%d op=%d commit=%d; %s", replica, e.View, e.LogView, e.Op, e.Commit, e.Reason)
	case vsr.EventCheckpoint:
		c.sim.stats.Checkpoints++
	case vsr.EventStateTransfer:
		c.sim.stats.StateTransfers++
		c.sim.logf(logShort, "replica %d took a checkpoint at op %d by state transfer", replica, e.Op)
	case vsr.EventStatus:
		if e.Status == vsr.StatusViewChange {
			c.sim.stats.ViewChanges++
		}
		c.sim.logf(logShort, "replica %d: %s view=%d log_view=%d op=%d commit=%d %s",
			replica, e.Status, e.View, e.LogView, e.Op, e.Commit, e.Reason)
	}
}

// onCommitted checks a commit against the canonical chain: the same
// checksum at the same op on every replica, each op's parent the previous
// op's checksum, and every request in it one a client sent.
func (c *checker) onCommitted(replica int, e *vsr.Event) {
	for uint64(len(c.canonical)) <= e.Op {
		c.canonical = append(c.canonical, canonicalEntry{})
	}
	entry := &c.canonical[e.Op]
	if entry.ok {
		if entry.checksum != e.Checksum {
			c.sim.fail(Correctness, fmt.Sprintf("replica %d committed op %d with checksum %s, canonical %s",
				replica, e.Op, e.Checksum, entry.checksum))
		}
		return
	}
	if prev := &c.canonical[e.Op-1]; e.Op > 1 && prev.ok && prev.checksum != e.Parent {
		c.sim.fail(Correctness, fmt.Sprintf("replica %d committed op %d with parent %s, canonical op %d is %s",
			replica, e.Op, e.Parent, e.Op-1, prev.checksum))
		return
	}
	if next := e.Op + 1; next < uint64(len(c.canonical)) && c.canonical[next].ok && c.canonical[next].parent != e.Checksum {
		c.sim.fail(Correctness, fmt.Sprintf("replica %d committed op %d as %s, but canonical op %d names parent %s",
			replica, e.Op, e.Checksum, next, c.canonical[next].parent))
		return
	}
	entry.checksum, entry.parent, entry.ok = e.Checksum, e.Parent, true
	err := vsr.BatchRequests(e.Prepare[vsr.HeaderSize:], c.sim.opts.MessageSizeMax, func(h *vsr.Header, _ []byte) {
		if _, ok := c.sent[h.Checksum]; !ok {
			c.sim.fail(Correctness, fmt.Sprintf("op %d holds request %s that no client sent", e.Op, h.Checksum))
		}
		entry.requests = append(entry.requests, h.Checksum)
	})
	if err != nil {
		c.sim.fail(Correctness, fmt.Sprintf("op %d: malformed batch: %v", e.Op, err))
	}
}

// committedRequests returns the checksums of every request in a committed
// op (looked up only).
func (c *checker) committedRequests() map[vsr.U128]struct{} {
	set := map[vsr.U128]struct{}{}
	for i := range c.canonical {
		for _, req := range c.canonical[i].requests {
			set[req] = struct{}{}
		}
	}
	return set
}

// onExecuted checks that replicas agree on the state after each op.
func (c *checker) onExecuted(replica int, e *vsr.Event) {
	for uint64(len(c.digests)) <= e.Op {
		c.digests = append(c.digests, vsr.U128{})
	}
	if d := c.digests[e.Op]; d.IsZero() {
		c.digests[e.Op] = e.Digest
	} else if d != e.Digest {
		c.sim.fail(Correctness, fmt.Sprintf("replica %d state digest after op %d is %s, another replica's %s",
			replica, e.Op, e.Digest, d))
	}
}

// onReply checks that a reply's op is in the canonical history and holds
// the client's request: a replied op never vanishes.
func (c *checker) onReply(w *workloadClient, r *vsr.ClientResult) {
	if r.Op >= uint64(len(c.canonical)) || !c.canonical[r.Op].ok {
		c.sim.fail(Correctness, fmt.Sprintf("client %d got a reply for op %d, which never committed", w.index, r.Op))
		return
	}
	for _, req := range c.canonical[r.Op].requests {
		if req == w.lastRequest {
			return
		}
	}
	c.sim.fail(Correctness, fmt.Sprintf("client %d got a reply for op %d, which does not hold its request", w.index, r.Op))
}
