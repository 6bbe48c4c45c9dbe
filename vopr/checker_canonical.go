package vopr

import (
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// canonicalChecker holds the one history every replica must agree with:
// the first commit seen of each op. Every later commit of that op, on any
// replica, must have the same checksum; each op's parent is the previous
// op's checksum; and every request in a committed op is one a client sent.
type canonicalChecker struct {
	v              verdicts
	sent           map[vsr.U128]struct{} // checksums of every request a client sent; looked up only
	messageSizeMax uint32
	entries        []canonicalEntry // by op; entries[0] stands for the root
	// requests holds the requests of every committed op, each op's side
	// by side (canonicalEntry.requests): one slice for the run rather
	// than one per op.
	requests []vsr.U128
}

type canonicalEntry struct {
	checksum vsr.U128
	parent   vsr.U128
	requests requestsSpan
	ok       bool
}

// requestsSpan is where an op's requests lie in canonicalChecker.requests.
type requestsSpan struct{ start, end int }

// requestsOf returns the requests of an entry.
func (c *canonicalChecker) requestsOf(entry *canonicalEntry) []vsr.U128 {
	return c.requests[entry.requests.start:entry.requests.end]
}

// committed is the highest op the canonical history holds.
func (c *canonicalChecker) committed() uint64 {
	return uint64(max(len(c.entries)-1, 0))
}

// checksum returns the canonical checksum of op, if op committed.
func (c *canonicalChecker) checksum(op uint64) (vsr.U128, bool) {
	if op >= uint64(len(c.entries)) || !c.entries[op].ok {
		return vsr.U128{}, false
	}
	return c.entries[op].checksum, true
}

// holdsRequest reports whether op committed and holds request.
func (c *canonicalChecker) holdsRequest(op uint64, request vsr.U128) (committed, holds bool) {
	if op >= uint64(len(c.entries)) || !c.entries[op].ok {
		return false, false
	}
	for _, r := range c.requestsOf(&c.entries[op]) {
		if r == request {
			return true, true
		}
	}
	return true, false
}

// onCommitted checks a commit against the canonical chain.
func (c *canonicalChecker) onCommitted(replica int, e *vsr.Event) {
	for uint64(len(c.entries)) <= e.Op {
		c.entries = append(c.entries, canonicalEntry{})
	}
	entry := &c.entries[e.Op]
	if entry.ok {
		if entry.checksum != e.Checksum {
			c.v.fail(Correctness, fmt.Sprintf("replica %d committed op %d with checksum %s, canonical %s",
				replica, e.Op, e.Checksum, entry.checksum))
		}
		return
	}
	if prev := &c.entries[e.Op-1]; e.Op > 1 && prev.ok && prev.checksum != e.Parent {
		c.v.fail(Correctness, fmt.Sprintf("replica %d committed op %d with parent %s, canonical op %d is %s",
			replica, e.Op, e.Parent, e.Op-1, prev.checksum))
		return
	}
	if next := e.Op + 1; next < uint64(len(c.entries)) && c.entries[next].ok && c.entries[next].parent != e.Checksum {
		c.v.fail(Correctness, fmt.Sprintf("replica %d committed op %d as %s, but canonical op %d names parent %s",
			replica, e.Op, e.Checksum, next, c.entries[next].parent))
		return
	}
	entry.checksum, entry.parent, entry.ok = e.Checksum, e.Parent, true
	entry.requests = requestsSpan{start: len(c.requests), end: len(c.requests)}
	err := vsr.BatchRequests(e.Prepare[vsr.HeaderSize:], c.messageSizeMax, func(h *vsr.Header, _ []byte) {
		if _, ok := c.sent[h.Checksum]; !ok {
			c.v.fail(Correctness, fmt.Sprintf("op %d holds request %s that no client sent", e.Op, h.Checksum))
		}
		c.requests = append(c.requests, h.Checksum) // nothing else appends until the batch is done
		entry.requests.end = len(c.requests)
	})
	if err != nil {
		c.v.fail(Correctness, fmt.Sprintf("op %d: malformed batch: %v", e.Op, err))
	}
}

// committedRequests returns the checksums of every request in a committed
// op (looked up only).
func (c *canonicalChecker) committedRequests() map[vsr.U128]struct{} {
	set := map[vsr.U128]struct{}{}
	for i := range c.entries {
		for _, req := range c.requestsOf(&c.entries[i]) {
			set[req] = struct{}{}
		}
	}
	return set
}
