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

// eventQueue is a binary min-heap on (at, seq).
type eventQueue struct {
	items []event
	seq   uint64
}

func (q *eventQueue) len() int { return len(q.items) }

func less(x, y *event) bool {
	if x.at != y.at {
		return x.at < y.at
	}
	return x.seq < y.seq
}

func (q *eventQueue) push(e event) {
	q.seq++
	e.seq = q.seq
	q.items = append(q.items, e)
	i := len(q.items) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !less(&q.items[i], &q.items[parent]) {
			break
		}
		q.items[i], q.items[parent] = q.items[parent], q.items[i]
		i = parent
	}
}

func (q *eventQueue) pop() event {
	if len(q.items) == 0 {
		panic("vopr: pop of an empty event queue")
	}
	top := q.items[0]
	last := len(q.items) - 1
	q.items[0] = q.items[last]
	q.items[last] = event{}
	q.items = q.items[:last]
	i := 0
	for {
		l, r, smallest := 2*i+1, 2*i+2, i
		if l < len(q.items) && less(&q.items[l], &q.items[smallest]) {
			smallest = l
		}
		if r < len(q.items) && less(&q.items[r], &q.items[smallest]) {
			smallest = r
		}
		if smallest == i {
			break
		}
		q.items[i], q.items[smallest] = q.items[smallest], q.items[i]
		i = smallest
	}
	return top
}
