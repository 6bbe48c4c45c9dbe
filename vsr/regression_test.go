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

// quietTimeouts makes every timeout that starts or advances a view change
// too long to fire on its own: the test fires them (fireTimeout) where it
// wants a view change, as a timeout may fire at any moment.
func quietTimeouts(o *Options) {
	o.PrimaryTimeoutTicks, o.ViewChangeTimeoutTicks, o.PrimaryAbdicateTicks = 1<<20, 1<<20, 1<<20
}

// fireTimeout fires replica i's view-change timeout now: it starts the
// view change to the next view, as its primary or view-change timeout would.
func (net *testNet) fireTimeout(i int) {
	r := net.replicas[i]
	r.startViewChange(r.view+1, "test: timeout fired")
	net.deliver()
}

// submitTo sends a request of client c straight to the primary of view
// (as a client that learned the view from a reply would), without waiting.
func (net *testNet) submitTo(c *Client, view uint32, input string) {
	net.t.Helper()
	c.view = view
	if _, err := c.Submit(OperationUserMin, []byte(input)); err != nil {
		net.t.Fatal(err)
	}
	net.deliver()
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

// blankSlot makes op's slot in replica i's data file read as never written
// (ring entry and prepare all zero): the writes of op never landed.
func (net *testNet) blankSlot(i int, op uint64) {
	net.blankPrepare(i, op)
	l := NewLayout(net.options[i])
	slot := op % l.JournalSlots
	s := net.storages[i]
	sector := make([]byte, SectorSize)
	offset := l.headerSectorOffset(slot / headersPerSector)
	s.Peek(offset, sector)
	clear(sector[slot%headersPerSector*HeaderSize:][:HeaderSize])
	s.put(offset, sector)
}

// blankPrepare zeroes op's prepare in replica i's data file and leaves
// the ring's header of it: the prepare's sectors were lost after the ring
// named it (the open finds the slot missing its body).
func (net *testNet) blankPrepare(i int, op uint64) {
	l := NewLayout(net.options[i])
	slot := op % l.JournalSlots
	zero := make([]byte, SectorSize)
	for off := l.prepareOffset(slot); off < l.prepareOffset(slot)+uint64(net.options[i].MessageSizeMax); off += SectorSize {
		net.storages[i].put(off, zero)
	}
}

// Seed 301 (two replicas, --on crash-group): both replicas are in log_view
// 2, led by r0, whose head prepare landed on both disks while the three ops
// below it never landed anywhere. The committed op just above r0's executed
// prefix was prepared in view 1, so the hash chain from the head never
// reaches it and it is not of the adopted view: the view change cannot tell
// whether r0 holds the canonical entry, cannot truncate the unheld ops
// above it, and waits for a repair that can never come. r0 led log_view 2
// from a complete log, so the entries it holds up to that log's first head
// are the view's: it vouches for them.
func TestLogViewPrimaryVouchesForItsLogAcrossAGap(t *testing.T) {
	net := newTestNet(t, 2, quietTimeouts)
	clients := net.registerClients(5)
	net.submit(clients[0], "a")
	// View 1 (r1): r1 prepares s and r0 holds it, but r1 hears no ack.
	net.fireTimeout(1)
	net.drop = func(p *packet) bool { return p.header.Command == CommandPrepareOk }
	net.submitTo(clients[0], 1, "s")
	committed := net.replicas[1].Op()
	if r := net.replicas[0]; r.Op() != committed || r.CommitMin() >= committed || net.replicas[1].CommitMin() >= committed {
		t.Fatalf("set-up: r0 holds %d, executed %d; r1 executed %d; want s at %d held by both, executed by neither",
			r.Op(), r.CommitMin(), net.replicas[1].CommitMin(), committed)
	}
	// View 2 (r0): s commits with r0's log; three ops after it reach no
	// disk but r0's, and the fourth both. Neither superblock records s
	// executed: each was written when the view began.
	net.drop = nil
	net.fireTimeout(0)
	net.run(200, "s committed in view 2", func() bool { return net.replicas[0].CommitMin() == committed })
	net.run(200, "s committed in view 2", func() bool { return net.replicas[0].CommitMin() == committed })
	net.drop = func(p *packet) bool {
		return p.header.Command == CommandPrepare && p.from.replica == 0 && p.header.Op > committed && p.header.Op < committed+4 ||
			p.header.Command == CommandRequest && p.header.Client == clients[0].ID()
	}
	for k := range 4 {
		net.submitTo(clients[k+1], 2, fmt.Sprintf("x%d", k))
	}
	if net.replicas[0].Op() != committed+4 || net.replicas[1].Op() != committed+4 {
		t.Fatalf("set-up: r0 at op %d, r1 at op %d, want both at %d", net.replicas[0].Op(), net.replicas[1].Op(), committed+4)
	}
	net.crash(0)
	net.crash(1)
	for op := committed + 1; op < committed+4; op++ {
		net.blankSlot(0, op)
	}
	net.drop = nil
	net.restart(0)
	net.restart(1)
	if r := net.replicas[0]; r.CommitMin() >= committed || r.logView != 2 || r.Op() != committed+4 {
		t.Fatalf("set-up: r0 reopened executed %d, log_view %d, head %d", r.CommitMin(), r.logView, r.Op())
	}
	for attempt := range 6 {
		if net.replicas[0].Status() == StatusNormal && net.replicas[1].Status() == StatusNormal {
			break
		}
		net.fireTimeout(attempt % 2)
		net.tick(50)
	}
	net.run(2000, "both normal in one view", func() bool {
		a, b := net.replicas[0], net.replicas[1]
		return a.Status() == StatusNormal && b.Status() == StatusNormal && a.View() == b.View() && a.CommitMin() >= committed
	})
	net.waitIdle(clients, 3000)
	net.tick(30)
	for i := range net.replicas {
		net.checkReplied(i)
	}
	net.checkAgreement()
}

// A slot the open could not read may have held, durably and acknowledged,
// the op a primary later names there. Once its header arrives the op is
// known (the slot no longer makes the whole journal faulty), but this
// replica still cannot swear it never held the prepare: it must not nack
// it until the prepare itself is put there (corpus/open's suspicion).
func TestUnreadSlotNamedByAPrimaryIsNeverNacked(t *testing.T) {
	const slots = 8
	j := newJournal(slots, 4096, nil)
	j.markFaulty(3, make([]byte, HeaderSize))
	if j.nackable(3) || j.nackable(3+slots) {
		t.Fatal("an unreadable slot nacks its op")
	}
	h := Header{Command: CommandPrepare, Op: 3 + slots, Size: HeaderSize, Checksum: U128{Lo: 7}}
	j.putHeader(&h)
	if j.faultyCount != 0 {
		t.Fatalf("faulty slots %d after the primary named the op", j.faultyCount)
	}
	if j.nackable(h.Op) {
		t.Fatal("a slot the open could not read nacks the op a primary named there; it may have held its prepare")
	}
	var message [HeaderSize]byte
	h.put(message[:])
	if !j.putPrepare(&h, message[:]) || j.nackable(h.Op) {
		t.Fatal("a held prepare is nacked")
	}
	other := Header{Command: CommandPrepare, Op: h.Op, Checksum: U128{Lo: 8}}
	j.putHeader(&other)
	if !j.nackable(h.Op) {
		t.Fatal("a slot that held a prepare it read back cannot nack another entry of its op it never held")
	}
}

// Seed 1005364: a view change needed committed prepares that only a
// recovering replica still held, and that replica could not recover until
// the view formed: the cluster changed views for 200 views. A recovering
// replica serves repair from its journal (the asker checks what it gets).
func TestRecoveringReplicaServesRepair(t *testing.T) {
	net := newTestNet(t, 3, quietTimeouts)
	clients := net.registerClients(1)
	net.submit(clients[0], "a")
	op := net.replicas[2].Op()
	checksum := net.replicas[2].journal.header(op).Checksum
	// r2's recovery gets no answer: it stays recovering.
	net.drop = func(p *packet) bool { return p.header.Command == CommandRecoveryResponse }
	net.crash(2)
	net.restart(2)
	if net.replicas[2].Status() != StatusRecovering {
		t.Fatalf("set-up: r2 %v after a restart, want recovering", net.replicas[2].Status())
	}
	sent := len(net.sentPackets)
	view := net.replicas[0].View()
	net.replicas[0].send(2, &Header{Command: CommandRequestPrepare, View: view, Op: op, Context: checksum}, nil)
	net.replicas[0].send(2, &Header{Command: CommandRequestHeaders, View: view, Commit: 1, Op: op}, nil)
	net.deliver()
	answered := map[Command]bool{}
	for _, p := range net.sentPackets[sent:] {
		if p.from.replica == 2 && p.to.replica == 0 {
			answered[p.header.Command] = true
			if p.header.Command == CommandPrepare && p.header.Checksum != checksum {
				t.Fatalf("r2 answered op %d with another prepare", op)
			}
		}
	}
	if !answered[CommandPrepare] || !answered[CommandHeaders] {
		t.Fatalf("recovering r2 answered %v to a request_prepare and a request_headers, want a prepare and headers", answered)
	}
	if net.replicas[2].Status() != StatusRecovering {
		t.Fatal("serving repair changed r2's status")
	}
}

// Seed 7004183: a read error at open made a replica take a prepare still
// intact on its disk for lost (the slot's body lost, its header kept), and
// with no peer holding it a view change stalled. Repair reads such a body
// back from the replica's own disk.
func TestLostBodyIsReadBackFromTheReplicasOwnDisk(t *testing.T) {
	net := newTestNet(t, 3, nil)
	clients := net.registerClients(1)
	net.submit(clients[0], "a")
	net.submit(clients[0], "b")
	op := net.replicas[2].Op()
	l := NewLayout(net.options[2])
	slotOffset := l.prepareOffset(op % l.JournalSlots)
	net.crash(2)
	net.storages[2].SetFaults(MemoryFaults{ReadErrorPerMillion: 1_000_000,
		Faulty: func(offset uint64) bool { return offset >= slotOffset && offset < slotOffset+l.PrepareSlotSize }})
	net.restart(2)
	net.storages[2].SetFaults(MemoryFaults{})
	r := net.replicas[2]
	if s := r.journal.slotOf(op); !s.bodyLost || r.journal.hasPrepare(op) {
		t.Fatalf("set-up: after a read error op %d has bodyLost %v, prepare held %v", op, s.bodyLost, r.journal.hasPrepare(op))
	}
	// No peer sends r2 a prepare: only its own disk can give op back.
	net.drop = func(p *packet) bool { return p.header.Command == CommandPrepare && p.to.replica == 2 }
	net.run(500, "r2 holds op's prepare again", func() bool { return net.replicas[2].journal.hasPrepare(op) })
	net.drop = nil
	net.run(500, "r2 executed op", func() bool { return net.replicas[2].CommitMin() >= op })
	net.checkAgreement()
}

// Seed 1012461 (six replicas, core mode), in three: every replica is in
// log_view 0 with head op k+3, and nobody holds op k+2. The new primary r1
// holds k+1's header (its body was lost on its disk) but nothing at k;
// r0 and r2 hold both prepares, so no nack quorum can disown k, and the
// view change must fetch k and k+1 before it can prove k+2 absent and
// truncate there. Repair that walks the hash chain down from the head
// never gets past the gap at k+2, so it asked for neither, and the view
// change waited forever: a new primary repairs the entries of its adopted
// log below a gap (repairTarget, extendsAdoptedLog). The test runs the
// story with that repair turned off (BugNoAdoptedLogRepair) too, and
// requires the stall there.
func TestNewPrimaryRepairsItsAdoptedLogBelowAGapNobodyHolds(t *testing.T) {
	for _, bug := range []Bug{BugNone, BugNoAdoptedLogRepair} {
		net := newTestNet(t, 3, func(o *Options) { quietTimeouts(o); o.TestingBug = bug })
		k := gapBelowTheHead(net)
		completed := true
		for tick := 0; !(net.replicas[1].Status() == StatusNormal && net.replicas[1].View() == 1); tick++ {
			if tick == 2000 {
				completed = false
				break
			}
			net.tick(1)
		}
		if bug != BugNone {
			r := net.replicas[1]
			if completed || r.Status() != StatusViewChange || !r.viewChange.installed || r.firstUnestablished() != k {
				t.Fatalf("with --bug %s the view change did not stall at op %d with the log adopted\n%s", bug, k, net.describe())
			}
			continue
		}
		if !completed {
			t.Fatalf("the view change to view 1 never completed\n%s", net.describe())
		}
		if r := net.replicas[1]; r.Op() != k+1 || !net.marked(1, MarkAdoptedLogRepaired) || !net.marked(1, MarkNackTruncation) {
			t.Fatalf("r1 normal at head %d, marks adopted_log_repaired %t nack_truncation %t; want head %d (k+2 truncated) and both",
				r.Op(), net.marked(1, MarkAdoptedLogRepaired), net.marked(1, MarkNackTruncation), k+1)
		}
		net.waitIdle(net.clients, 3000)
		net.tick(30)
		for i := range net.replicas {
			net.checkReplied(i)
		}
		net.checkAgreement()
	}
}

// gapBelowTheHead sets up seed 1012461's log on a three-replica net and
// restarts every replica; it returns k.
func gapBelowTheHead(net *testNet) uint64 {
	t := net.t
	t.Helper()
	clients := net.registerClients(5)
	net.submit(clients[0], "a")
	k := net.replicas[0].Op() + 1
	// View 0 (r0) prepares x0 to x3 at k to k+3; none commits. r1 never
	// gets k; nobody but r0 gets k+2, and r0 loses it in the crash.
	net.drop = func(p *packet) bool {
		h := &p.header
		return h.Command == CommandPrepareOk ||
			h.Command == CommandPrepare && (h.Op == k && p.to.replica == 1 || h.Op == k+2)
	}
	for i := range 4 {
		net.submitTo(clients[i+1], 0, fmt.Sprintf("x%d", i))
	}
	for i, r := range net.replicas {
		if r.Op() != k+3 {
			t.Fatalf("set-up: r%d at op %d, want %d", i, r.Op(), k+3)
		}
	}
	for i := range net.replicas {
		net.crash(i)
	}
	net.blankSlot(0, k+2)
	net.blankPrepare(1, k+1)
	net.drop = nil
	for i := range net.replicas {
		net.restart(i)
	}
	if r := net.replicas[1]; r.journal.header(k) != nil || r.journal.header(k+1) == nil || r.journal.hasPrepare(k+1) ||
		r.journal.header(k+2) != nil || r.Op() != k+3 {
		t.Fatalf("set-up: r1 reopened at head %d with headers at k %t, k+1 %t (prepare %t), k+2 %t", r.Op(),
			r.journal.header(k) != nil, r.journal.header(k+1) != nil, r.journal.hasPrepare(k+1), r.journal.header(k+2) != nil)
	}
	net.fireTimeout(1)
	return k
}

// marked reports whether replica i hit mark m.
func (net *testNet) marked(i int, m Mark) bool {
	for _, e := range net.events {
		if e.Kind == EventMark && int(e.Replica) == i && e.Mark == m {
			return true
		}
	}
	return false
}
