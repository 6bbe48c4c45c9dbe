package vopr

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

// eventQueue is a min-heap on (at, seq). The heap holds small keys with
// no pointers, each naming its event's place in a slab: sifting moves
// 24 bytes and needs no write barriers, and a popped event's place is
// reused. (at, seq) is unique, so events pop in one order whatever the
// heap's shape.
type eventQueue struct {
	keys   []eventKey
	events []event  // the slab: events by place
	free   []uint32 // places in events that hold no event
	seq    uint64
}

// eventKey orders one event in the heap.
type eventKey struct {
	at, seq uint64
	place   uint32
}

func (q *eventQueue) len() int { return len(q.keys) }

func less(x, y *eventKey) bool {
	if x.at != y.at {
		return x.at < y.at
	}
	return x.seq < y.seq
}

func (q *eventQueue) push(e event) {
	q.seq++
	e.seq = q.seq
	var place uint32
	if n := len(q.free); n > 0 {
		place = q.free[n-1]
		q.free = q.free[:n-1]
		q.events[place] = e
	} else {
		if len(q.events) >= 1<<32-1 {
			panic("vopr: more than 2^32 events queued at once")
		}
		place = uint32(len(q.events))
		q.events = append(q.events, e)
	}
	q.keys = append(q.keys, eventKey{at: e.at, seq: e.seq, place: place})
	k := q.keys
	i := len(k) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !less(&k[i], &k[parent]) {
			break
		}
		k[i], k[parent] = k[parent], k[i]
		i = parent
	}
}

func (q *eventQueue) pop() event {
	if len(q.keys) == 0 {
		panic("vopr: pop of an empty event queue")
	}
	place := q.keys[0].place
	top := q.events[place]
	q.events[place] = event{} // drops the message bytes
	q.free = append(q.free, place)
	last := len(q.keys) - 1
	q.keys[0] = q.keys[last]
	q.keys = q.keys[:last]
	q.siftDown()
	if top.seq == 0 {
		panic("vopr: a popped event's place held no event")
	}
	return top
}

// siftDown restores the heap after its root was replaced.
func (q *eventQueue) siftDown() {
	k := q.keys
	i := 0
	for {
		l, r, smallest := 2*i+1, 2*i+2, i
		if l < len(k) && less(&k[l], &k[smallest]) {
			smallest = l
		}
		if r < len(k) && less(&k[r], &k[smallest]) {
			smallest = r
		}
		if smallest == i {
			return
		}
		k[i], k[smallest] = k[smallest], k[i]
		i = smallest
	}
}
