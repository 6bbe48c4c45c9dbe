package vsr

import (
	"math/rand/v2"
	"testing"
)

// TestIOWindow completes I/Os in random order, with crashes between,
// against a map: take finds exactly the I/Os in flight, each once, and
// takeAll returns the rest oldest first.
func TestIOWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var w ioWindow
	inFlight := map[uint64]uint64{} // id → tag
	var next uint64
	for step := range 50_000 {
		switch r := rng.IntN(100); {
		case r < 50:
			next++
			w.add(next, memoryIO{tag: next * 7, data: []byte{1}})
			inFlight[next] = next * 7
		case r < 99:
			id := next - uint64(rng.IntN(200)) // often not in flight
			if r < 90 && len(inFlight) > 0 {
				id = oldestOf(inFlight) + uint64(rng.IntN(8)) // the window moves on
			}
			io, ok := w.take(id)
			tag, want := inFlight[id]
			if ok != want || (ok && io.tag != tag) {
				t.Fatalf("step %d: take(%d) = %d %v, want %d %v", step, id, io.tag, ok, tag, want)
			}
			delete(inFlight, id)
		default:
			all := w.takeAll()
			if len(all) != len(inFlight) {
				t.Fatalf("step %d: takeAll returned %d, want %d", step, len(all), len(inFlight))
			}
			for i, io := range all {
				if inFlight[io.tag/7] != io.tag || (i > 0 && all[i-1].tag >= io.tag) {
					t.Fatalf("step %d: takeAll returned tag %d out of order or not in flight", step, io.tag)
				}
			}
			clear(inFlight)
		}
		if w.count != len(inFlight) {
			t.Fatalf("step %d: %d in flight, want %d", step, w.count, len(inFlight))
		}
	}
}

func oldestOf(ids map[uint64]uint64) uint64 {
	oldest := ^uint64(0)
	for id := range ids {
		oldest = min(oldest, id)
	}
	return oldest
}
