package vsr

import (
	"fmt"
	"testing"
)

// Regressions for the findings of the blind-spots review (issue 8) that
// need the replica's insides: each drives the test network through a
// sequence of legal events that broke safety or liveness before its fix.
// The other findings' regressions are scenario scripts on the simulator,
// with every checker on (vopr/testdata/scenarios/finding*.txt).

// capture returns the latest packet sent of command from client c that
// matches, as the bytes a late copy of it would carry.
func (net *testNet) capture(c *Client, command Command, match func(h *Header) bool) []byte {
	net.t.Helper()
	var found []byte
	for _, p := range net.sentPackets {
		if p.header.Command == command && p.header.Client == c.ID() && p.from.replica < 0 && match(&p.header) {
			found = p.data
		}
	}
	if found == nil {
		net.t.Fatalf("no %s of client %d captured", command, c.ID().Lo)
	}
	return found
}

// deliverLate hands message to every replica, as a copy held up in the
// network for a long time would arrive.
func (net *testNet) deliverLate(message []byte) {
	for i, r := range net.replicas {
		if !net.down[i] {
			r.Receive(message)
		}
	}
	net.deliver()
}

func isRegister(h *Header) bool { return h.Operation == OperationRegister }

// falseEviction tells client c its session is gone, as a stale eviction of
// a session the cluster no longer remembers would.
func (net *testNet) falseEviction(c *Client) {
	net.t.Helper()
	ev := Header{Command: CommandEviction, Cluster: testCluster, Client: c.ID()}
	buf := make([]byte, HeaderSize)
	if _, err := Encode(buf, &ev, nil); err != nil {
		net.t.Fatal(err)
	}
	c.Receive(buf)
	if c.Registered() {
		net.t.Fatal("the client ignored the eviction")
	}
}

// Finding 4: a late copy of a client's earlier register must not replace
// the reply its session cached for its latest request: the client, retrying
// that request, would be refused forever as reusing its number.
func TestLateRegisterKeepsTheCachedReply(t *testing.T) {
	net := newTestNet(t, 3, nil)
	c := net.addClient(1)
	net.register(c)
	first := net.capture(c, CommandRequest, isRegister)
	net.submit(c, "a")
	net.falseEviction(c)
	net.register(c) // the same session, renewed
	net.drop = func(p *packet) bool { return p.header.Command == CommandReply }
	if _, err := c.Submit(OperationUserMin, []byte("x")); err != nil {
		t.Fatal(err)
	}
	net.run(500, "x executed", func() bool { return net.executions(0, "x") == 1 })
	net.deliverLate(first)
	net.drop = nil
	net.run(3000, "the reply to x", func() bool { return !c.Busy() })
	results := net.results[c.ID()]
	if last := results[len(results)-1]; last.Err != nil || string(last.Body) != fmt.Sprintf("%d:x", last.Op) {
		t.Fatalf("x answered with %+v", last)
	}
	for i := range net.replicas {
		if n := net.executions(i, "x"); n != 1 {
			t.Fatalf("r%d executed x %d times", i, n)
		}
	}
	net.checkAgreement()
}

// N1, found by the storage atlas (a new finding of this issue): the open
// marks a slot whose two copies are corrupt faulty, but the replica's next
// write of that headers-ring sector (a neighbour's header, or the ring
// rewrite at open) wrote zeros for it. At the next restart the slot read as
// never written: the replica forgot it may have acknowledged the op there,
// and would nack it. A faulty slot's ring copy must stay as the open found
// it until the slot is repaired.
func TestCorruptSlotIsNotForgottenAtTheNextRingWrite(t *testing.T) {
	net := newTestNet(t, 3, nil)
	c := net.addClient(1)
	net.register(c)
	for i := range 3 {
		net.submit(c, fmt.Sprintf("x%d", i))
	}
	net.tick(30)
	target := net.replicas[2].Op() - 1
	net.partitioned[2] = true // r2 must not learn the slot back from a primary
	net.crash(2)
	net.corruptSlot(2, target, true)
	net.restart(2)
	if !net.replicas[2].journal.slotOf(target).faulty {
		t.Fatal("set-up: the open did not find the slot faulty")
	}
	// The same ring sector is written again (the open rewrites sectors
	// whose ring copies it found stale; force one here).
	net.replicas[2].writeHeaderSector(target % uint64(net.options[2].JournalSlots) / headersPerSector)
	net.completeIO()
	net.crash(2)
	net.restart(2)
	if r := net.replicas[2]; !r.journal.slotOf(target).faulty || r.journal.nackable(target) {
		t.Fatalf("after the ring sector was rewritten, slot of op %d reads faulty %v, nackable %v",
			target, r.journal.slotOf(target).faulty, r.journal.nackable(target))
	}
	net.partitioned[2] = false
	net.run(2000, "r2 repaired", func() bool {
		r := net.replicas[2]
		return r.Status() == StatusNormal && r.journal.hasPrepare(target)
	})
	net.checkAgreement()
}
