package vopr

import "github.com/govsr/govsr/vsr"

// tickSlots holds the replicas' ticks beside the event heap: a replica
// has exactly one tick scheduled at any time (each tick schedules the
// next), so a slot per replica holds them all, and a third of a run's
// events never enter the heap. The slots keep the index of the earliest;
// the queue pops from whichever of heap, lane and slots holds the least
// (at, seq), so the order is the heap's alone would be.
type tickSlots struct {
	at, seq [vsr.ReplicasMax]uint64 // seq 0: the slot is empty
	count   int
	first   int // the slot of the earliest tick, while count > 0
	used    int // slots [0, used) have held a tick: take looks no further
}

// fits reports whether e can wait in a slot: a plain replica tick of a
// replica whose slot is empty (a second tick of one replica goes to the
// heap).
func (t *tickSlots) fits(e *event) bool {
	return e.kind == eventReplicaTick && e.b == 0 && e.tag == 0 && e.data == nil && t.free(e.a)
}

// free reports whether replica has a slot, empty.
func (t *tickSlots) free(replica int) bool {
	return replica >= 0 && replica < len(t.seq) && t.seq[replica] == 0
}

func (t *tickSlots) put(replica int, at, seq uint64) {
	if seq == 0 {
		panic("vopr: a tick without a sequence number")
	}
	t.at[replica], t.seq[replica] = at, seq
	t.count++
	t.used = max(t.used, replica+1)
	if t.count == 1 || t.before(replica, t.first) {
		t.first = replica
	}
}

// before reports whether slot i's tick comes before slot j's.
func (t *tickSlots) before(i, j int) bool {
	return t.at[i] < t.at[j] || (t.at[i] == t.at[j] && t.seq[i] < t.seq[j])
}

// take empties the earliest slot and returns its tick.
func (t *tickSlots) take() (replica int, at, seq uint64) {
	replica, at, seq = t.first, t.at[t.first], t.seq[t.first]
	t.seq[replica] = 0
	t.count--
	found := false
	for i := range t.seq[:t.used] {
		if t.seq[i] != 0 && (!found || t.before(i, t.first)) {
			t.first, found = i, true
		}
	}
	return replica, at, seq
}

// firstKey returns the earliest tick as a heap key (place 0), or
// noEventKey if there is none.
func (t *tickSlots) firstKey() eventKey {
	if t.count == 0 {
		return noEventKey
	}
	return eventKey{at: t.at[t.first], order: t.seq[t.first] << placeBits}
}

// noEventKey stands for an empty structure in next: it orders after every
// event (no event is scheduled at the end of time; push refuses one).
var noEventKey = eventKey{at: ^uint64(0), order: ^uint64(0)}

// Where the next event comes from.
const (
	fromHeap = iota
	fromLane
	fromTicks
)

// next says which structure holds the next event, and its time; the
// queue must not be empty. Each empty structure offers noEventKey, so
// the three are compared without asking which are empty.
func (q *eventQueue) next() (from int, at uint64) {
	best := q.heapTop()
	from = fromHeap
	if q.laneHead < len(q.lane) {
		head := &q.lane[q.laneHead]
		if k := (eventKey{at: head.at, order: head.seq << placeBits}); less(&k, &best) {
			best, from = k, fromLane
		}
	}
	if k := q.ticks.firstKey(); less(&k, &best) {
		best, from = k, fromTicks
	}
	if best == noEventKey {
		panic("vopr: pop of an empty event queue")
	}
	return from, best.at
}
