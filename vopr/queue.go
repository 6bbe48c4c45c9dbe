package vopr

import (
	"math/bits"
	"slices"
)

// eventKind says what an event does when its time comes.
type eventKind uint8

const (
	eventReplicaTick eventKind = iota + 1
	eventClientTick
	eventDeliver   // a message arrives at node b from node a
	eventStorage   // replica a's storage completes the I/O tagged tag
	eventStep      // every 100 ms: partitions, clogs, pauses start and end
	eventResume    // replica a's pause ends
	eventClientGo  // client a's think time is over: it may submit
	eventRestart   // replica a restarts after a crash
	eventChaos     // an aimed fault (chaos.go): action b on replica a
	eventKindCount // one past the last
)

var eventKindNames = [eventKindCount]string{
	eventReplicaTick: "tick", eventClientTick: "client_tick", eventDeliver: "deliver",
	eventStorage: "storage", eventStep: "step", eventResume: "resume", eventClientGo: "client_go",
	eventRestart: "restart", eventChaos: "chaos",
}

func (k eventKind) String() string { return eventKindNames[k] }

// event is one scheduled happening. Events at the same time run in the
// order they were scheduled (seq), so the order never depends on anything
// but the seed.
type event struct {
	at   uint64 // simulated ns
	seq  uint64
	kind eventKind
	a, b int    // node indexes: replica, client or link ends
	tag  uint64 // storage tag
	data []byte // message bytes
}

// copyFrom copies event from field by field: the caller has just built it
// field by field, and a whole-struct copy reads it back in wider loads
// than it was stored in, which the CPU cannot forward from its store
// buffer (a stall of some ten cycles per load).
func (e *event) copyFrom(from *event) {
	e.at, e.seq, e.kind, e.a, e.b, e.tag, e.data = from.at, from.seq, from.kind, from.a, from.b, from.tag, from.data
}

// eventQueue orders events by (at, seq), which is unique, so events pop
// in one order whatever the structures holding them. It has two:
//
// The lane, a FIFO of client ticks. A client schedules its next tick a
// fixed tickNs after now, and now never goes back, so client ticks are
// pushed in (at, seq) order: a FIFO holds them sorted for free. In a run
// with many clients most events are client ticks; the lane spares the
// heap both their work and their number. (Any client tick that would not
// keep the lane sorted goes to the heap.)
//
// The heap, for everything else: 16-byte keys with no pointers, each
// naming its event's place in a slab (sifting needs no write barriers,
// and a popped event's place is reused). It holds a handful of keys most
// of the time (deliveries and completions in flight: under five on
// average in the standard seed, some twenty in a swarm's), and keeps them
// sorted, latest first: a pop takes the last, a push finds its place
// (scanning a few keys, else by binary search) and moves the earlier ones
// along, cheaper than sifting through a heap. Past sortedKeysMax it
// becomes a min-heap with four children to a node (half the levels of a
// binary heap; four children fill one cache line), sorted again once it
// shrinks to sortedKeysMin. Keys are unique, so both pop the same order.
type eventQueue struct {
	keys     []eventKey
	heaped   bool     // keys form a heap; else they are sorted latest first
	events   []event  // the slab: events by place
	free     []uint32 // places in events that hold no event
	seq      uint64
	lane     []laneTick // client ticks in (at, seq) order; lane[:laneHead] are popped
	laneHead int
	ticks    tickSlots // each replica's next tick (queue_ticks.go)
}

// laneTick is a client tick in the lane: all of the event a tick needs.
type laneTick struct {
	at, seq uint64
	client  int
}

// eventKey orders one event in the heap: order is seq<<placeBits | place,
// so that (at, order) sorts as (at, seq) does.
type eventKey struct {
	at, order uint64
}

// placeBits is the width of a slab place in a key: at most 2^24 events
// queued at once, and 2^40 scheduled in a run.
const placeBits = 24

func (k *eventKey) place() uint32 { return uint32(k.order & (1<<placeBits - 1)) }

// queueArity is the number of children of a node of the heap.
const queueArity = 4

// The heap's keys are kept sorted up to sortedKeysMax, a heap above it
// until they shrink to sortedKeysMin (apart, so that a queue near the
// bound does not switch back and forth).
const (
	sortedKeysMax = 256
	sortedKeysMin = 64
	sortedScanMax = 16 // up to this many keys, a push scans for its place
)

// sortedPlace returns where key goes in the sorted keys (but their last,
// key's own place, not yet filled): after every key due after it, by
// binary search.
func (q *eventQueue) sortedPlace(key *eventKey) int {
	k := q.keys[:len(q.keys)-1]
	lo, hi := 0, len(k) // k[:lo] are due after key, k[hi:] before
	for lo < hi {
		mid := int(uint(lo+hi) / 2)
		if less(&k[mid], key) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// heapTop returns the heap's earliest key, or noEventKey if it is empty.
func (q *eventQueue) heapTop() eventKey {
	switch {
	case len(q.keys) == 0:
		return noEventKey
	case q.heaped:
		return q.keys[0]
	}
	return q.keys[len(q.keys)-1]
}

func (q *eventQueue) len() int { return len(q.keys) + len(q.lane) - q.laneHead + q.ticks.count }

// less orders keys by (at, seq) as one 128-bit number, without branches:
// which of two events comes first is a coin flip the CPU cannot predict.
func less(x, y *eventKey) bool { return lessBit(x, y) != 0 }

// lessBit is less as 1 or 0.
func lessBit(x, y *eventKey) int64 {
	_, borrow := bits.Sub64(x.order, y.order, 0)
	_, borrow = bits.Sub64(x.at, y.at, borrow)
	return int64(borrow)
}

func (q *eventQueue) push(e event) {
	e.seq = q.nextSeq(e.at)
	switch e.kind {
	case eventClientTick:
		if e.b == 0 && e.tag == 0 && e.data == nil && q.laneTakes(e.at) {
			q.lane = append(q.lane, laneTick{at: e.at, seq: e.seq, client: e.a})
			return
		}
	case eventReplicaTick:
		if q.ticks.fits(&e) {
			q.ticks.put(e.a, e.at, e.seq)
			return
		}
	}
	q.heapPush(&e)
}

// pushClientTick is push(event{at: at, kind: eventClientTick, a: client})
// without the event: a busy client schedules a tick every tick, and in a
// swarm's runs these are most events.
func (q *eventQueue) pushClientTick(client int, at uint64) {
	seq := q.nextSeq(at)
	if q.laneTakes(at) {
		q.lane = append(q.lane, laneTick{at: at, seq: seq, client: client})
		return
	}
	q.heapPush(&event{at: at, seq: seq, kind: eventClientTick, a: client})
}

// pushReplicaTick is push(event{at: at, kind: eventReplicaTick, a:
// replica}) without the event, for each replica's tick.
func (q *eventQueue) pushReplicaTick(replica int, at uint64) {
	seq := q.nextSeq(at)
	if q.ticks.free(replica) {
		q.ticks.put(replica, at, seq)
		return
	}
	q.heapPush(&event{at: at, seq: seq, kind: eventReplicaTick, a: replica})
}

// nextSeq numbers the next event pushed, at at.
func (q *eventQueue) nextSeq(at uint64) uint64 {
	q.seq++
	if q.seq >= 1<<(64-placeBits) {
		panic("vopr: more than 2^40 events scheduled in one run")
	}
	if at == noEventKey.at {
		panic("vopr: an event scheduled at the end of time") // next's stand-in for none
	}
	return q.seq
}

// laneTakes reports whether a client tick at at keeps the lane sorted: a
// later seq breaks ties, so it does if at does not go back.
func (q *eventQueue) laneTakes(at uint64) bool {
	return q.laneHead == len(q.lane) || at >= q.lane[len(q.lane)-1].at
}

func (q *eventQueue) pop() event {
	var e event
	q.popInto(&e)
	return e
}

// popInto pops the next event into e, field by field (see copyFrom): the
// simulator's loop pops every event, so the copy is worth sparing.
func (q *eventQueue) popInto(e *event) {
	switch from, _ := q.next(); from {
	case fromHeap:
		q.heapPopInto(e)
		return
	case fromTicks:
		replica, at, seq := q.ticks.take()
		e.at, e.seq, e.kind, e.a, e.b, e.tag, e.data = at, seq, eventReplicaTick, replica, 0, 0, nil
		return
	}
	t := q.lane[q.laneHead]
	q.laneHead++
	if q.laneHead == len(q.lane) {
		q.lane, q.laneHead = q.lane[:0], 0
	} else if q.laneHead > 64 && q.laneHead > len(q.lane)/2 { // compact: keep the lane's memory bounded
		n := copy(q.lane, q.lane[q.laneHead:])
		q.lane, q.laneHead = q.lane[:n], 0
	}
	e.at, e.seq, e.kind, e.a, e.b, e.tag, e.data = t.at, t.seq, eventClientTick, t.client, 0, 0, nil
}

func (q *eventQueue) heapPush(e *event) {
	var place uint32
	if n := len(q.free); n > 0 {
		place = q.free[n-1]
		q.free = q.free[:n-1]
		q.events[place].copyFrom(e)
	} else {
		if len(q.events) >= 1<<placeBits {
			panic("vopr: more than 2^24 events queued at once")
		}
		place = uint32(len(q.events))
		q.events = append(q.events, event{})
		q.events[place].copyFrom(e)
	}
	key := eventKey{at: e.at, order: e.seq<<placeBits | uint64(place)}
	if !q.heaped && len(q.keys) >= sortedKeysMax {
		slices.Reverse(q.keys) // earliest first: a valid heap
		q.heaped = true
	}
	q.keys = append(q.keys, key)
	k := q.keys
	i := len(k) - 1
	if !q.heaped {
		// Insertion: the keys due before key move one place on; among a
		// few, found one by one from the earliest, else by binary search.
		if i <= sortedScanMax {
			for i > 0 && less(&k[i-1], &key) {
				k[i] = k[i-1]
				i--
			}
			k[i] = key
			return
		}
		at := q.sortedPlace(&key)
		copy(k[at+1:], k[at:i])
		k[at] = key
		return
	}
	for i > 0 {
		parent := (i - 1) / queueArity
		if !less(&key, &k[parent]) {
			break
		}
		k[i] = k[parent]
		i = parent
	}
	k[i] = key
}

func (q *eventQueue) heapPopInto(top *event) {
	if len(q.keys) == 0 {
		panic("vopr: pop of an empty event queue")
	}
	last := len(q.keys) - 1
	var place uint32
	if q.heaped {
		place = q.keys[0].place()
		q.siftDown(q.keys[last])
	} else {
		place = q.keys[last].place()
	}
	q.keys = q.keys[:last]
	if q.heaped && len(q.keys) <= sortedKeysMin {
		// Latest first: x sorts after y when it is earlier.
		slices.SortFunc(q.keys, func(x, y eventKey) int { return int(lessBit(&x, &y) - lessBit(&y, &x)) })
		q.heaped = false
	}
	top.copyFrom(&q.events[place])
	q.events[place].data, q.events[place].seq = nil, 0 // drops the message bytes; marks the place free
	q.free = append(q.free, place)
	if top.seq == 0 {
		panic("vopr: a popped event's place held no event")
	}
}

// siftDown fills the root's place, which the caller emptied, with key (the
// heap's last key, about to be cut off) or with what must rise above it.
func (q *eventQueue) siftDown(key eventKey) {
	k := q.keys[:len(q.keys)-1]
	i := 0
	for {
		first := queueArity*i + 1
		if first >= len(k) {
			break
		}
		smallest := first
		for c := first + 1; c < min(first+queueArity, len(k)); c++ {
			// smallest = c if k[c] is less, by a mask rather than a branch.
			mask := -lessBit(&k[c], &k[smallest])
			smallest ^= (smallest ^ c) & int(mask)
		}
		if !less(&k[smallest], &key) {
			break
		}
		k[i] = k[smallest]
		i = smallest
	}
	if i < len(k) {
		k[i] = key
	}
}
