package vsr

import (
	"fmt"
	"testing"
)

// TestBuffersReuseZeroed: a buffer reclaimed dirty comes back zeroed, from
// the same memory, with the length (and capacity) asked for; a lent buffer
// is never lent twice; a nil Buffers allocates fresh zeroed memory.
func TestBuffersReuseZeroed(t *testing.T) {
	b := NewBuffers()
	first := b.make(4096)
	other := b.make(8192)
	for i := range first {
		first[i] = 0xAB
	}
	other[0] = 1
	b.Reclaim()
	if len(b.lent) != 0 {
		t.Fatalf("%d buffers lent after Reclaim, want 0", len(b.lent))
	}
	again := b.make(4096)
	if &again[0] != &first[0] {
		t.Fatal("a reclaimed buffer of the same length was not reused")
	}
	for i, x := range again {
		if x != 0 {
			t.Fatalf("reused buffer byte %d is %#x, want 0", i, x)
		}
	}
	if len(again) != 4096 || cap(again) != 4096 {
		t.Fatalf("reused buffer has len %d cap %d, want 4096 and 4096", len(again), cap(again))
	}
	if fresh := b.make(4096); &fresh[0] == &again[0] {
		t.Fatal("a lent buffer was lent twice")
	}
	var none *Buffers
	if n := none.make(100); len(n) != 100 || cap(n) != 100 || n[99] != 0 {
		t.Fatalf("a nil Buffers made len %d cap %d", len(n), cap(n))
	}
}

// TestBuffersSizeClasses: a buffer serves a later request of another length
// in its size class (as the next seed of a swarm, with other options,
// asks), with that length and capacity, zeroed; classes waste under a
// quarter; a class unasked for in keepGenerations reclaims is dropped.
func TestBuffersSizeClasses(t *testing.T) {
	for n := 1; n < 1<<20; n += 1 + n/7 {
		if c := sizeClass(n); c < n || (n > 64 && 4*(c-n) >= n) {
			t.Fatalf("sizeClass(%d) = %d", n, c)
		}
	}
	b := NewBuffers()
	first := b.make(9000)
	first[8999] = 7
	unused := b.make(70_000)
	b.Reclaim()
	second := b.make(9500) // same class as 9000: the same memory
	if &second[0] != &first[0] || len(second) != 9500 || cap(second) != 9500 || second[8999] != 0 {
		t.Fatalf("a request in the same class got len %d cap %d, same memory %v", len(second), cap(second), &second[0] == &first[0])
	}
	for range keepGenerations + 1 {
		b.make(9000)
		b.Reclaim() // 70,000 is not asked for again: dropped in the end
	}
	if again := b.make(70_000); &again[0] == &unused[0] {
		t.Fatalf("a buffer not lent for %d generations was kept", keepGenerations+1)
	}
}

// reclaimDirty scribbles over every lent buffer, as a crashed replica may
// leave them, then reclaims them.
func reclaimDirty(b *Buffers) {
	for _, buf := range b.lent {
		for i := range buf {
			buf[i] = 0xA5
		}
	}
	b.Reclaim()
}

// TestBuffersChangeNothing runs one scenario twice, with crashes, restarts
// and a whole-cluster restart: once on fresh memory, once with every
// replica's buffers reclaimed dirty at each restart and lent again. Every
// packet sent, and every replica's final state, must be the same.
func TestBuffersChangeNothing(t *testing.T) {
	scenario := func(lend bool) (sent []string, state []string, reused int) {
		net := &testNet{t: t, results: map[U128][]ClientResult{}}
		if lend {
			for range 3 {
				net.buffers = append(net.buffers, NewBuffers())
			}
		}
		buildTestNet(net, 3, func(o *Options) { o.JournalSlots = 16; o.PipelineMax = 4 })
		c := net.addClient(1)
		net.register(c)
		for round := range 4 {
			for k := range 6 {
				net.submit(c, fmt.Sprintf("r%d-%d", round, k))
			}
			victim := round % 3
			net.crash(victim)
			net.submit(c, fmt.Sprintf("down-%d", round))
			net.restart(victim)
			net.tick(40)
		}
		for i := range net.replicas {
			net.crash(i)
		}
		for i := range net.replicas {
			net.restart(i)
		}
		net.submit(c, "after")
		net.tick(50)
		for _, p := range net.sentPackets {
			sent = append(sent, fmt.Sprintf("%s %s", p, Checksum(p.data)))
		}
		for i, r := range net.replicas {
			state = append(state, fmt.Sprintf("r%d %s v%d op%d commit%d digest %s", i, r.Status(), r.View(), r.Op(),
				r.CommitMin(), r.stateDigest()))
		}
		for _, b := range net.buffers {
			reused += len(b.lent)
		}
		return sent, state, reused
	}
	freshSent, freshState, _ := scenario(false)
	lentSent, lentState, lent := scenario(true)
	if lent == 0 {
		t.Fatal("no buffers were lent: the test tests nothing")
	}
	if len(freshSent) != len(lentSent) {
		t.Fatalf("%d packets sent on fresh memory, %d on lent buffers", len(freshSent), len(lentSent))
	}
	for i := range freshSent {
		if freshSent[i] != lentSent[i] {
			t.Fatalf("packet %d: fresh memory sent %s, lent buffers %s", i, freshSent[i], lentSent[i])
		}
	}
	for i := range freshState {
		if freshState[i] != lentState[i] {
			t.Fatalf("fresh memory: %s; lent buffers: %s", freshState[i], lentState[i])
		}
	}
}
