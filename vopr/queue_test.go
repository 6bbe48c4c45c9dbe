package vopr

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestEventQueueOrder pushes and pops events at random times, in bursts
// (so that the queue grows to hundreds of events and shrinks again; in
// long bursts, to thousands), with many ties, client ticks among them (in
// time order or not) and replica ticks (several of one replica at once,
// and of a replica beyond the slots), pushed by push or by their own
// pushClientTick and pushReplicaTick, and checks every pop against a
// plain sorted list: earliest time first, ties in push order, and each
// event's own fields intact. In the long bursts the heap part passes
// between its sorted and heap forms both ways, several times.
func TestEventQueueOrder(t *testing.T) {
	checkQueueOrder(t, 40_000, 500, 0)
	checkQueueOrder(t, 60_000, 4_000, 4)
}

// checkQueueOrder runs TestEventQueueOrder's steps, in bursts of burst
// steps, and fails unless the heap part switched form switchesMin times.
func checkQueueOrder(t *testing.T, steps, burst, switchesMin int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var q eventQueue
	var want []event // kept sorted by (at, seq)
	var seq, now uint64
	switches, heaped := 0, false
	for step := range steps {
		if q.heaped != heaped {
			switches, heaped = switches+1, q.heaped
		}
		pushOdds := 1 + (step/burst)%3 // bursts: mostly pushes, even, mostly pops
		if len(want) == 0 || rng.IntN(4) < pushOdds {
			seq++
			e := event{at: now + uint64(rng.IntN(6)), kind: eventDeliver, a: rng.IntN(7), tag: seq,
				data: []byte{byte(seq)}}
			if rng.IntN(3) == 0 { // a replica tick: a slot of its own if free (queue_ticks.go), else the heap
				e.kind, e.tag, e.data = eventReplicaTick, 0, nil
			}
			if rng.IntN(2) == 0 { // a client tick: mostly in time order (the lane), sometimes not (the heap)
				e.kind, e.at, e.tag, e.data = eventClientTick, now+3, 0, nil // as a client schedules it
				if rng.IntN(10) == 0 {
					e.at = now + uint64(rng.IntN(3))
				}
			}
			switch direct := rng.IntN(2) == 0; { // the ticks' own pushes, or push
			case direct && e.kind == eventClientTick:
				q.pushClientTick(e.a, e.at)
			case direct && e.kind == eventReplicaTick:
				q.pushReplicaTick(e.a, e.at)
			default:
				q.push(e)
			}
			e.seq = seq
			i, _ := slices.BinarySearchFunc(want, e, func(x, y event) int {
				if x.at != y.at {
					return cmpU64(x.at, y.at)
				}
				return cmpU64(x.seq, y.seq)
			})
			want = slices.Insert(want, i, e)
			continue
		}
		got := q.pop()
		w := want[0]
		want = want[1:]
		if got.at != w.at || got.seq != w.seq || got.tag != w.tag || got.a != w.a || got.kind != w.kind ||
			len(got.data) != len(w.data) || (len(w.data) > 0 && got.data[0] != w.data[0]) {
			t.Fatalf("step %d: popped at=%d seq=%d tag=%d, want at=%d seq=%d tag=%d", step, got.at, got.seq, got.tag, w.at, w.seq, w.tag)
		}
		now = got.at // as the simulator: nothing is scheduled before now
		if q.len() != len(want) {
			t.Fatalf("step %d: queue holds %d events, want %d", step, q.len(), len(want))
		}
	}
	if switches < switchesMin {
		t.Fatalf("the heap part switched form %d times, want %d at least", switches, switchesMin)
	}
}

func cmpU64(x, y uint64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
