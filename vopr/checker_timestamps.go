package vopr

import (
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// timestampChecker checks that prepare timestamps grow strictly along the
// canonical history: each committed op's timestamp is above the previous
// op's, across view changes too (the state machine may use them as time,
// and a checkpoint promises later ops a larger one). And that they are
// time: a primary stamps a prepare at least with its clock (ticks since it
// started), so a timestamp cannot stand still while the primary's clock
// runs, nor count prepares instead of ticks. It reads each op's
// timestamp from the prepare header of its first commit; a later commit of
// the same op is the canonical checker's business.
type timestampChecker struct {
	v verdicts
	// stamps[op] is op's prepare timestamp; 0 if op was not seen committed
	// (a primary stamps at least 1).
	stamps []uint64
	// decoded[op % stampsDecodedMax] holds the header bytes of op's first
	// commit, which decoded: every replica commits each op, most often
	// with the same header bytes and soon after the first, and bytes
	// already decoded need not be decoded again to know they decode.
	decoded [stampsDecodedMax]decodedHeader
	// made[i] is the newest prepare replica i was seen sending as primary
	// of its view: a send of it or of an older op is a resend.
	made [vsr.ReplicasMax]struct {
		view uint32
		op   uint64
	}
}

// stampsDecodedMax is how many ops' first headers the checker keeps.
const stampsDecodedMax = 64

// decodedHeader is a header's bytes that vsr.DecodeHeader accepted, and
// the op they are of (0: none yet).
type decodedHeader struct {
	op  uint64
	raw [vsr.HeaderSize]byte
}

func (c *timestampChecker) onCommitted(replica int, e *vsr.Event) {
	raw := e.Prepare[:vsr.HeaderSize]
	if known := &c.decoded[e.Op%stampsDecodedMax]; e.Op < uint64(len(c.stamps)) && c.stamps[e.Op] != 0 &&
		known.op == e.Op && string(known.raw[:]) == string(raw) {
		return // decoded before, and its timestamp is known: nothing to check
	}
	h, err := vsr.DecodeHeader(raw)
	if err != nil {
		c.v.fail(Correctness, fmt.Sprintf("replica %d committed op %d with an undecodable header: %v", replica, e.Op, err))
		return
	}
	for uint64(len(c.stamps)) <= e.Op+1 {
		c.stamps = append(c.stamps, 0)
	}
	if c.stamps[e.Op] != 0 {
		return
	}
	c.stamps[e.Op] = h.Timestamp
	known := &c.decoded[e.Op%stampsDecodedMax]
	known.op = e.Op
	copy(known.raw[:], raw)
	if prev := c.stamps[e.Op-1]; e.Op > 1 && prev != 0 && h.Timestamp <= prev {
		c.v.fail(Correctness, fmt.Sprintf("replica %d committed op %d (view %d) with prepare timestamp %d, not above op %d's %d",
			replica, e.Op, h.View, h.Timestamp, e.Op-1, prev))
	}
	if next := c.stamps[e.Op+1]; next != 0 && next <= h.Timestamp {
		c.v.fail(Correctness, fmt.Sprintf("replica %d committed op %d (view %d) with prepare timestamp %d, not below op %d's %d",
			replica, e.Op, h.View, h.Timestamp, e.Op+1, next))
	}
}

// onPrepareSent checks a prepare replica sends as primary of view, with
// its clock at the send: the first send of a prepare is in the event that
// stamped it, so its timestamp must be at least that clock. Resends (an op
// not above the newest this replica made in view) are stamped earlier.
func (c *timestampChecker) onPrepareSent(replica int, view uint32, op, timestamp, clock uint64) {
	made := &c.made[replica]
	if view < made.view || (view == made.view && op <= made.op) {
		return
	}
	made.view, made.op = view, op
	if timestamp < clock {
		c.v.fail(Correctness, fmt.Sprintf("replica %d made op %d in view %d with timestamp %d, below its clock, %d ticks: "+
			"a primary stamps a prepare at least with its clock (the state machine is promised its time)",
			replica, op, view, timestamp, clock))
	}
}
