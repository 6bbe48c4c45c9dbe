package vsr

import (
	"fmt"
	"testing"
)

// Regressions for the findings of the blind-spots review (issue 8): each
// test drives the test network through a sequence of legal events (loss,
// partitions, crashes, a late copy of an old message, one bit flip on disk)
// that broke safety or liveness before its fix.

// committedTimestamps returns, by op, the timestamp of every prepare
// replica i reported committed.
func (net *testNet) committedTimestamps(i int) map[uint64]uint64 {
	stamps := map[uint64]uint64{}
	for _, e := range net.events {
		if e.Kind == EventCommitted && int(e.Replica) == i {
			h, _, err := Decode(e.Prepare, MessageSizeMaxLimit)
			if err != nil {
				net.t.Fatalf("r%d committed an undecodable prepare: %v", i, err)
			}
			stamps[e.Op] = h.Timestamp
		}
	}
	return stamps
}

// checkTimestampsGrow asserts that along replica i's committed history each
// prepare's timestamp exceeds the one before.
func (net *testNet) checkTimestampsGrow(i int) {
	net.t.Helper()
	stamps := net.committedTimestamps(i)
	for op := uint64(2); op <= net.replicas[i].CommitMin(); op++ {
		prev, okPrev := stamps[op-1]
		cur, ok := stamps[op]
		if ok && okPrev && cur <= prev {
			net.t.Fatalf("r%d: op %d has timestamp %d, not above op %d's %d", i, op, cur, op-1, prev)
		}
	}
}

// Finding 7: a new primary whose clock is behind (it restarted, so its
// tick count began again at zero) stamps its first prepare below the
// uncommitted op it inherited from the old view. Timestamps must grow
// along the log across views.
func TestTimestampsGrowAcrossAViewChange(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.PrimaryAbdicateTicks = 10_000 })
	c1, c2 := net.addClient(1), net.addClient(2)
	net.register(c1)
	net.register(c2)
	net.submit(c1, "a")
	net.crash(1)
	net.tick(200) // r0's clock runs on; r1's will start again from zero
	net.restart(1)
	net.run(500, "r1 back", func() bool { return net.replicas[1].Status() == StatusNormal })
	// An op prepared late by r0 reaches r1 but commits nowhere.
	net.drop = func(p *packet) bool {
		return p.header.Command == CommandPrepareOk || (p.header.Command == CommandPrepare && p.to.replica == 2)
	}
	if _, err := c1.Submit(OperationUserMin, []byte("inherited")); err != nil {
		t.Fatal(err)
	}
	net.deliver()
	inherited := net.replicas[0].Op()
	if h := net.replicas[1].journal.header(inherited); h == nil || h.Timestamp <= net.replicas[1].ticks {
		t.Fatalf("set-up: r1 lacks op %d or its clock (%d) is not behind it", inherited, net.replicas[1].ticks)
	}
	// r1 becomes primary of view 1 and prepares a new op while the
	// inherited one still waits for r2's acknowledgement.
	net.drop = dropCommand(CommandPrepareOk, 2)
	net.partitioned[0] = true
	net.run(1000, "r1 primary of view 1", func() bool {
		return net.replicas[1].Status() == StatusNormal && net.replicas[1].IsPrimary()
	})
	if _, err := c2.Submit(OperationUserMin, []byte("new")); err != nil {
		t.Fatal(err)
	}
	net.run(1000, "new prepared", func() bool { return net.replicas[1].Op() > inherited })
	net.drop = nil
	net.run(2000, "clients done", func() bool { return !c1.Busy() && !c2.Busy() })
	net.tick(30)
	for i := 1; i < 3; i++ {
		net.checkTimestampsGrow(i)
	}
	if got := net.replicas[1].CommitMin(); got <= inherited {
		t.Fatalf("r1 executed to %d, not past the inherited op %d", got, inherited)
	}
	net.checkAgreement()
}

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

// Finding 3: after an eviction, a late copy of the client's first register
// opens a fresh session, and a late copy of a request the evicted session
// executed then runs again. Every request names its session, so it can
// only ever run in that one.
func TestLateRegisterAndRequestNeverRunTwice(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.ClientsMax = 1 })
	c1, c2 := net.addClient(1), net.addClient(2)
	net.register(c1)
	register := net.capture(c1, CommandRequest, isRegister)
	net.submit(c1, "once")
	request := net.capture(c1, CommandRequest, func(h *Header) bool { return !isRegister(h) })
	net.register(c2) // evicts c1
	net.tick(20)
	net.deliverLate(register) // opens a session for c1 again, evicting c2
	net.deliverLate(request)
	net.tick(30)
	for i := range net.replicas {
		if n := net.executions(i, "once"); n != 1 {
			t.Fatalf("r%d executed c1's request %d times: %v", i, n, net.applied(i))
		}
	}
	net.checkAgreement()
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

// Finding 1: a view change installs an older-view entry (the canonical one)
// over a newer-view uncommitted prepare: the headers ring names the new
// entry and log_view is durable before its body is repaired. A crash then
// leaves two valid copies of one op with different checksums; the open
// must not take the replaced prepare back (it kept the higher view).
func TestReplacedPrepareDoesNotReturnAfterACrash(t *testing.T) {
	net := newTestNet(t, 3, quietTimeouts)
	c1, c2, c3 := net.addClient(1), net.addClient(2), net.addClient(3)
	for _, c := range []*Client{c1, c2, c3} {
		net.register(c)
	}
	net.submit(c1, "a")
	op := net.replicas[0].Op() + 1
	// View 1 (r1) without r0; r1 prepares "old" at op, held by r1 alone.
	net.partitioned[0] = true
	net.fireTimeout(1)
	net.drop = func(p *packet) bool {
		return p.header.Command == CommandPrepareOk || (p.header.Command == CommandPrepare && p.to.replica == 2)
	}
	net.submitTo(c2, 1, "old")
	if h := net.replicas[1].journal.header(op); h == nil || h.View != 1 {
		t.Fatalf("set-up: r1 did not prepare op %d in view 1", op)
	}
	// View 2 (r2) with r0, which never hears the start_view; r2 prepares
	// "newer" at the same op, held by r2 alone.
	net.partitioned[0], net.partitioned[1] = false, true
	net.drop = func(p *packet) bool {
		return p.to.replica == 0 && (p.header.Command == CommandStartView || p.header.Command == CommandPrepare)
	}
	net.fireTimeout(2)
	net.submitTo(c3, 2, "newer")
	newer := net.replicas[2].journal.header(op)
	if newer == nil || newer.View != 2 || !net.replicas[2].journal.durable(op, newer.Checksum) {
		t.Fatalf("set-up: r2 did not prepare op %d durably in view 2", op)
	}
	replaced := newer.Checksum
	// View 3 (r0) with r1: it adopts r1's log, "old" at op, and commits it.
	net.partitioned[1], net.partitioned[2] = false, true
	net.drop = nil
	net.fireTimeout(0)
	net.run(500, "view 3 commits op", func() bool { return net.replicas[0].CommitMin() >= op })
	// r2 learns view 3's log from its start_view (the header of "old"
	// replaces "newer") but never gets the body; then it crashes.
	net.partitioned[2] = false
	net.drop = func(p *packet) bool { return p.to.replica == 2 && p.header.Command == CommandPrepare }
	net.run(200, "r2 in view 3, durably", func() bool {
		r := net.replicas[2]
		return r.Status() == StatusNormal && r.View() == 3 && r.viewDurable() && r.ringDurable()
	})
	if h := net.replicas[2].journal.header(op); h == nil || h.Checksum == replaced || net.replicas[2].journal.hasPrepare(op) {
		t.Fatalf("set-up: r2 does not hold view 3's header of op %d without its body", op)
	}
	net.crash(2)
	net.restart(2)
	if h := net.replicas[2].journal.header(op); h != nil && h.Checksum == replaced {
		t.Fatalf("the reopened journal names the replaced prepare (view %d) at op %d", h.View, op)
	}
	net.drop = nil
	net.run(2000, "all normal in one view", func() bool {
		for _, r := range net.replicas {
			if r.Status() != StatusNormal || r.View() != net.replicas[0].View() || r.CommitMin() < op {
				return false
			}
		}
		return true
	})
	for i := range net.replicas {
		if n := net.executions(i, "newer"); n != 0 {
			t.Fatalf("r%d executed the replaced prepare", i)
		}
	}
	net.checkAgreement()
}

// corruptRing flips a bit in op's header in replica i's headers ring.
func (net *testNet) corruptRing(i int, op uint64) {
	l := NewLayout(net.options[i])
	slot := op % l.JournalSlots
	net.storages[i].FlipBit(l.headerSectorOffset(slot/headersPerSector), 8*(slot%headersPerSector*HeaderSize+100))
}

// Finding 1, second part: a valid prepare whose ring copy is corrupt may be
// one a view change replaced (the ring named the replacement). Below the
// head its contents are unknown: the open keeps its op faulty (never
// nacked) and repairs it. At the head it is the newest prepare, whose ring
// write a crash may tear: it stays.
func TestPrepareWithCorruptRingHeader(t *testing.T) {
	net := newTestNet(t, 3, nil)
	c := net.addClient(1)
	net.register(c)
	for i := range 4 {
		net.submit(c, fmt.Sprintf("x%d", i))
	}
	net.tick(30)
	// A view change: entries of view 0 are no longer of the log_view.
	net.partitioned[0] = true
	net.run(1000, "view 1", func() bool { return net.replicas[2].Status() == StatusNormal && net.replicas[2].View() == 1 })
	net.partitioned[0] = false
	head := net.replicas[2].Op()
	below := head - 2
	net.crash(2)
	net.corruptRing(2, below)
	net.corruptRing(2, head)
	net.restart(2)
	r := net.replicas[2]
	if r.journal.header(below) != nil || r.journal.nackable(below) {
		t.Fatalf("op %d below the head, ring copy corrupt: held %v, nackable %v", below, r.journal.header(below) != nil, r.journal.nackable(below))
	}
	if !r.journal.hasPrepare(head) || r.Op() != head {
		t.Fatalf("the head op %d with a corrupt ring copy was not kept (op %d)", head, r.Op())
	}
	net.run(1000, "r2 repaired", func() bool {
		return net.replicas[2].Status() == StatusNormal && net.replicas[2].journal.hasPrepare(below)
	})
	net.submit(c, "after")
	net.tick(30)
	net.checkAgreement()
}

// Finding 2: truncation must never leave a head that does not link to the
// adopted chain. With 1 KiB messages a do_view_change carries three
// headers; below them the new primary still holds stale prepares of its own
// older view. The lowest adopted op has no body and a nack quorum says
// nobody held it, but the stale ops below it are not part of the adopted
// log: truncating there made the stale chain the log, and the new primary
// executed it over ops committed in view 1.
func TestNackTruncationNeverLeavesAStaleHead(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { quietTimeouts(o); o.MessageSizeMax = MessageSizeMin })
	clients := net.registerClients(5)
	net.submit(clients[0], "a")
	committed := net.replicas[0].Op()
	// View 0: r0 prepares s1 and s2 alone; their clients' retries go nowhere.
	net.drop = func(p *packet) bool { return p.header.Command == CommandPrepare && p.from.replica == 0 }
	net.submitTo(clients[1], 0, "s1")
	net.submitTo(clients[2], 0, "s2")
	if net.replicas[0].Op() != committed+2 {
		t.Fatalf("set-up: r0 at op %d, want %d", net.replicas[0].Op(), committed+2)
	}
	silenced := func(p *packet) bool {
		return p.header.Command == CommandRequest && (p.header.Client == clients[1].ID() || p.header.Client == clients[2].ID())
	}
	// View 1 (r1) with r2: y1 and y2 commit at the same ops.
	net.partitioned[0] = true
	net.drop = silenced
	net.fireTimeout(1)
	net.submitTo(clients[3], 1, "y1")
	net.submitTo(clients[4], 1, "y2")
	net.run(500, "y1 and y2 committed", func() bool { return !clients[3].Busy() && !clients[4].Busy() })
	// View 2 (r2) with r1: r2 prepares x1..x3 alone.
	net.fireTimeout(2)
	net.drop = func(p *packet) bool {
		return silenced(p) || (p.header.Command == CommandPrepare && p.from.replica == 2) || p.header.Command == CommandPrepareOk
	}
	net.submitTo(clients[0], 2, "x1")
	net.submitTo(clients[3], 2, "x2")
	net.submitTo(clients[4], 2, "x3")
	if net.replicas[2].Op() != committed+5 || net.replicas[1].Op() != committed+2 {
		t.Fatalf("set-up: r2 at op %d, r1 at op %d", net.replicas[2].Op(), net.replicas[1].Op())
	}
	// View 3 (r0): r0's own do_view_change waits on its disk until r1's
	// and r2's have arrived, so it chooses r2's log with both nacks in hand.
	net.partitioned[0] = false
	net.storages[0].hold = true
	net.fireTimeout(2)
	net.storages[0].hold = false
	net.deliver()
	for i := range net.replicas {
		if n := net.executions(i, "s1") + net.executions(i, "s2"); n > 0 {
			t.Fatalf("r%d executed view 0's uncommitted s1 or s2 over the committed y1 and y2: %v", i, net.applied(i))
		}
	}
	net.drop = nil
	net.run(3000, "all normal in one view", func() bool {
		for _, r := range net.replicas {
			if r.Status() != StatusNormal || r.View() != net.replicas[0].View() {
				return false
			}
		}
		return true
	})
	net.waitIdle(clients, 3000)
	net.tick(30)
	for i := range net.replicas {
		net.checkReplied(i)
	}
	net.checkAgreement()
}

// rejoin replaces replica i's disk with a fresh one formatted with
// FormatDataFileForRejoin (as `vsr format --rejoin` does) and restarts it.
func (net *testNet) rejoin(i int) {
	net.t.Helper()
	if !net.down[i] {
		net.crash(i)
	}
	fresh := newTestStorage(net.options[i], uint64(1000+i))
	fresh.Load(mustRejoinFormat(net.t.(*testing.T), net.options[i]))
	net.storages[i] = fresh
	net.restart(i)
}

// Finding 5: a replica whose disk was replaced must never nack an op its
// lost disk may have acknowledged: every op up to the head it learned at
// its first recovery. Here r2's old disk acknowledged x (its prepare_ok
// arrives late, after r2 rejoined); x commits and is answered; then its
// only holder, r0, is cut off. r2 knows x by header only: a nack from it
// would complete a nack quorum and truncate a committed op.
func TestRejoinedReplicaNeverNacksWhatItsLostDiskHeld(t *testing.T) {
	net := newTestNet(t, 3, quietTimeouts)
	c := net.addClient(1)
	net.register(c)
	net.submit(c, "a")
	var late []byte
	net.drop = func(p *packet) bool {
		if p.header.Command == CommandPrepareOk && p.from.replica == 2 && late == nil {
			late = p.data
			return true
		}
		return p.header.Command == CommandPrepare && p.to.replica == 1
	}
	if _, err := c.Submit(OperationUserMin, []byte("x")); err != nil {
		t.Fatal(err)
	}
	net.deliver()
	x := net.replicas[0].Op()
	if late == nil || net.replicas[0].CommitMax() >= x {
		t.Fatal("set-up: r2's prepare_ok of x not held back")
	}
	// r2's disk is replaced; it recovers x's header from r0, not its body.
	net.drop = func(p *packet) bool {
		return p.header.Command == CommandPrepare && p.to.replica != 0 || p.header.Command == CommandCommit
	}
	net.rejoin(2)
	net.run(500, "r2 recovered", func() bool { return net.replicas[2].Status() == StatusNormal })
	if h := net.replicas[2].journal.header(x); h == nil || net.replicas[2].journal.hasPrepare(x) {
		t.Fatalf("set-up: r2 does not know op %d by header alone", x)
	}
	// The late prepare_ok commits x at r0, which answers the client and is
	// then cut off from the replicas.
	net.replicas[0].Receive(late)
	net.drop = func(p *packet) bool { return p.from.replica == 0 && p.to.replica >= 0 || p.to.replica == 0 }
	net.run(500, "x answered", func() bool { return !c.Busy() })
	net.fireTimeout(1)
	net.tick(300)
	if r := net.replicas[1]; r.Status() == StatusNormal && r.Op() < x {
		t.Fatalf("r1 started view %d at op %d, without the committed op %d", r.View(), r.Op(), x)
	}
	net.drop = nil
	net.run(3000, "all normal in one view", func() bool {
		for _, r := range net.replicas {
			if r.Status() != StatusNormal || r.View() != net.replicas[1].View() || r.CommitMin() < x {
				return false
			}
		}
		return true
	})
	for i := range net.replicas {
		net.checkReplied(i)
	}
	net.checkAgreement()
}

// Finding 6: a replica that made a view durable which the cluster never
// reached, and whose journal then came back with a slot it cannot read,
// must still recover: it may neither go back to an older view nor start a
// view change on its own, so the others move up to its view.
func TestRecoveringReplicaAheadOfTheClusterRecovers(t *testing.T) {
	net := newTestNet(t, 3, quietTimeouts)
	c := net.addClient(1)
	net.register(c)
	for i := range 3 {
		net.submit(c, fmt.Sprintf("x%d", i))
	}
	net.tick(30)
	// r2 starts a view change nobody hears, makes view 1 durable, crashes.
	net.partitioned[2] = true
	net.fireTimeout(2)
	net.run(50, "r2's view durable", func() bool { return net.replicas[2].super.durable.view == 1 })
	net.crash(2)
	net.corruptSlot(2, net.replicas[2].Op()-1, true)
	net.partitioned[2] = false
	net.restart(2)
	if r := net.replicas[2]; !r.journalFaulty || r.View() != 1 {
		t.Fatalf("set-up: r2 reopened at view %d, journal faulty %v", r.View(), r.journalFaulty)
	}
	net.run(2000, "r2 recovered", func() bool { return net.replicas[2].Status() == StatusNormal })
	net.submit(c, "after")
	net.tick(30)
	for i := range net.replicas {
		net.checkReplied(i)
	}
	net.checkAgreement()
}

// pause holds back everything sent to replica i until resume, as a paused
// process hears nothing until it runs again.
func (net *testNet) pause(i int) *[][]byte {
	held := &[][]byte{}
	net.drop = func(p *packet) bool {
		if p.to.replica == i {
			*held = append(*held, p.data)
			return true
		}
		return false
	}
	return held
}

// resume hands replica i everything held back, in one burst: its storage
// completions come only after the burst, as they would for a process that
// handles its backlog before its event loop polls the disk again.
func (net *testNet) resume(i int, held *[][]byte) {
	net.drop = nil
	for _, m := range *held {
		net.replicas[i].Receive(m)
	}
	net.deliver()
}

// Finding 8: a backup paused under load executes its backlog in one burst
// on resume. Its checkpoint write was in flight through the burst, so it
// skipped every checkpoint interval and its durable checkpoint ended far
// behind: from then on it could write no prepare, yet it stayed normal,
// was elected primary when the other backup died, prepared nothing, never
// abdicated, and its heartbeats held the cluster forever.
func TestPausedBackupsCheckpointKeepsUp(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.JournalSlots = 64; o.CheckpointInterval = 16 })
	clients := net.registerClients(8)
	held := net.pause(2)
	for range 24 {
		net.submitEach(clients)
		net.waitIdle(clients, 1000)
	}
	if head := net.replicas[0].Op(); head < 3*uint64(net.options[2].JournalSlots) {
		t.Fatalf("set-up: the backlog reaches op %d, not three journals", head)
	}
	net.resume(2, held)
	net.crash(1)
	for round := range 4 {
		net.submitEach(clients)
		net.run(3000, fmt.Sprintf("round %d answered with r1 down", round), func() bool {
			for _, c := range clients {
				if c.Busy() {
					return false
				}
			}
			return true
		})
	}
	if cp, _ := net.replicas[2].DurableCheckpoint(); cp+uint64(net.options[2].JournalSlots) <= net.replicas[2].Op() {
		t.Fatalf("r2's durable checkpoint %d is a journal behind its head %d", cp, net.replicas[2].Op())
	}
	net.restart(1)
	net.run(2000, "r1 back", func() bool { return net.replicas[1].Status() == StatusNormal })
	net.submitEach(clients)
	net.waitIdle(clients, 3000)
	net.tick(30)
	net.checkAgreement()
}

// Finding 8, second part: a primary that cannot prepare (here its disk
// never completes a write, so no checkpoint becomes durable and its journal
// fills) must not hold the cluster with heartbeats while its pipeline sits
// empty: it abdicates, and the cluster moves on without it.
func TestPrimaryThatCannotPrepareAbdicates(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.JournalSlots = 64; o.CheckpointInterval = 16 })
	clients := net.registerClients(4)
	net.storages[0].hold = true
	for round := range 30 {
		net.submitEach(clients)
		net.run(3000, fmt.Sprintf("round %d answered", round), func() bool {
			for _, c := range clients {
				if c.Busy() {
					return false
				}
			}
			return true
		})
	}
	if net.replicas[0].IsPrimary() && net.replicas[0].Status() == StatusNormal {
		t.Fatal("r0, whose disk completes nothing, is still the primary")
	}
	net.storages[0].hold = false
	net.tick(300)
	net.checkAgreement()
}

// Finding 9, first part (confirmed): a do_view_change that arrives after the
// new primary installed its log must count toward truncation. Here the
// adopted log ends with an op nobody can supply, and the nack that proves it
// was never committed comes from a replica that joins the view change late;
// without it counting, the view change stalled until its timeout.
func TestLateDoViewChangeCompletesTruncation(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { quietTimeouts(o); o.RecoveryTimeoutTicks = 30 })
	c := net.addClient(1)
	net.register(c)
	net.submit(c, "kept")
	net.drop = func(p *packet) bool { return p.header.Command == CommandPrepare && p.from.replica == 0 }
	if _, err := c.Submit(OperationUserMin, []byte("lost")); err != nil {
		t.Fatal(err)
	}
	net.tick(3)
	lost := net.replicas[0].Op()
	for i := range net.replicas {
		net.crash(i)
	}
	net.drop = nil
	net.corruptSlot(0, lost, false) // the body rots; its header survives in the ring
	net.partitioned[2] = true
	for i := range net.replicas {
		net.restart(i)
	}
	net.run(200, "r1 adopted r0's log", func() bool { return net.replicas[1].vc.installed })
	view := net.replicas[1].View()
	net.tick(50)
	if r := net.replicas[1]; r.Status() == StatusNormal {
		t.Fatalf("set-up: r1 went normal without op %d or a nack quorum", lost)
	}
	net.partitioned[2] = false // r2 joins the view change late; its nack completes the quorum
	net.run(300, "r1 normal in the same view", func() bool {
		r := net.replicas[1]
		return r.Status() == StatusNormal && r.View() == view
	})
	net.run(2000, "client done", func() bool { return !c.Busy() })
	net.tick(30)
	net.checkAgreement()
}

// Finding 9, second part (confirmed): a backup that knows an inherited op
// committed (a heartbeat of the old view told it) must still acknowledge it
// to the new primary, which does not know, and the primary learns the
// commit from the prepare_ok's commit number. Otherwise the new primary,
// short of acknowledgements, stalls until it abdicates: a needless view
// change.
func TestBackupAcknowledgesAnInheritedOpItKnowsCommitted(t *testing.T) {
	net := newTestNet(t, 5, quietTimeouts)
	c := net.addClient(1)
	net.register(c)
	net.submit(c, "a")
	// x reaches r1 and r4, commits with their acks; only r4 hears of the commit.
	net.drop = func(p *packet) bool {
		return p.header.Command == CommandPrepare && (p.to.replica == 2 || p.to.replica == 3) ||
			p.header.Command == CommandCommit && p.to.replica != 4
	}
	net.submit(c, "x")
	x := net.replicas[0].Op()
	net.tick(net.options[0].HeartbeatTicks)
	if net.replicas[4].CommitMax() < x || net.replicas[1].CommitMax() >= x {
		t.Fatalf("set-up: r4 knows commit %d, r1 knows %d; want r4 alone to know op %d committed",
			net.replicas[4].CommitMax(), net.replicas[1].CommitMax(), x)
	}
	// View 1 (r1) forms with r2 and r3, which never held x; r3 then takes
	// no part, so r1 needs r4's acknowledgement of x.
	net.partitioned[0], net.partitioned[4] = true, true
	net.drop = func(p *packet) bool {
		return p.header.Command == CommandPrepareOk && p.from.replica == 3 ||
			p.header.Command == CommandPrepare && p.to.replica == 3
	}
	net.fireTimeout(1)
	if r := net.replicas[1]; r.Status() != StatusNormal || r.View() != 1 || r.CommitMax() >= x {
		t.Fatalf("set-up: r1 %s in view %d with commit %d; want view 1 normal, op %d uncommitted", r.Status(), r.View(), r.CommitMax(), x)
	}
	net.partitioned[4] = false
	net.run(200, "x committed in view 1", func() bool { return net.replicas[1].CommitMin() >= x })
	if v := net.replicas[1].View(); v != 1 {
		t.Fatalf("a needless view change: r1 in view %d", v)
	}
	net.drop = nil
	net.partitioned[0] = false
	net.tick(100)
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

// A new finding of the merged swarm (seed 200594): a replica whose disk
// was replaced knows no view at all, so it must hear from enough peers to
// be sure of the newest view that formed (n - Qvc + 1 of them: they meet
// every view-change quorum); counting itself, as a replica with its own
// durable view may, let it take a stale primary's older view on one answer,
// acknowledge that view's new prepares, and commit an op over one committed
// in the newer view.
func TestRejoinedReplicaNeverRecoversIntoAnOlderView(t *testing.T) {
	net := newTestNet(t, 3, quietTimeouts)
	c1, c2 := net.addClient(1), net.addClient(2)
	net.register(c1)
	net.register(c2)
	net.submit(c1, "a")
	net.fireTimeout(1) // view 1 (r1)
	net.fireTimeout(2) // view 2 (r2)
	net.run(200, "view 2 normal everywhere", func() bool {
		for _, r := range net.replicas {
			if r.Status() != StatusNormal || r.View() != 2 {
				return false
			}
		}
		return true
	})
	// View 3 (r0) forms without r2, which stays the primary of view 2.
	net.partitioned[2] = true
	net.fireTimeout(0)
	net.submitTo(c1, 3, "x")
	net.run(500, "x answered in view 3", func() bool { return !c1.Busy() })
	// r0's disk is replaced; r1's answer to its recovery is lost, r2's is not.
	net.partitioned[2] = false
	net.drop = func(p *packet) bool {
		return p.header.Command == CommandRecoveryResponse && p.from.replica == 1 ||
			p.from.replica == 1 && p.to.replica == 2 || p.from.replica == 2 && p.to.replica == 1
	}
	net.rejoin(0)
	net.tick(100)
	if r := net.replicas[0]; r.Status() != StatusRecovering && r.View() < 3 {
		t.Fatalf("the rejoined r0 recovered into view %d, older than view 3 it had led", r.View())
	}
	net.submitTo(c2, 2, "y")
	net.drop = nil
	net.fireTimeout(1) // r1 hears nothing from view 3's primary: view 4 (r1)
	net.run(3000, "all normal in one view", func() bool {
		for _, r := range net.replicas {
			if r.Status() != StatusNormal || r.View() != net.replicas[1].View() {
				return false
			}
		}
		return true
	})
	net.run(3000, "clients done", func() bool { return !c1.Busy() && !c2.Busy() })
	net.tick(30)
	for i := range net.replicas {
		net.checkReplied(i)
	}
	net.checkAgreement()
}

// Found by the merged swarm (seed 200976, core mode): a primary its clients
// cannot reach, which still heartbeats its backups, is never replaced, and
// the clients' retries to the backups were dropped. Backups now forward a
// request to the primary once, and answer a retry of a client's latest
// executed request from their own reply cache.
func TestClientsReachAPrimaryThroughItsBackups(t *testing.T) {
	net := newTestNet(t, 3, quietTimeouts)
	c := net.addClient(1)
	net.register(c)
	net.drop = func(p *packet) bool {
		return p.from.replica < 0 && p.to.replica == 0 || p.from.replica == 0 && p.to.replica < 0
	}
	for i := range 3 {
		input := fmt.Sprintf("x%d", i)
		if got := net.submit(c, input); got != fmt.Sprintf("%d:%s", net.replicas[0].CommitMin(), input) {
			t.Fatalf("reply %q", got)
		}
	}
	if r := net.replicas[0]; !r.IsPrimary() || r.View() != 0 {
		t.Fatalf("r0 is no longer the primary of view 0 (view %d)", r.View())
	}
	net.tick(30)
	for i := range net.replicas {
		if n := net.executions(i, "x1"); n != 1 {
			t.Fatalf("r%d executed x1 %d times", i, n)
		}
	}
	net.checkAgreement()
}

// blankSlot makes op's slot in replica i's data file read as never written
// (ring entry and prepare all zero): the writes of op never landed.
func (net *testNet) blankSlot(i int, op uint64) {
	l := NewLayout(net.options[i])
	slot := op % l.JournalSlots
	s := net.storages[i]
	zero := make([]byte, SectorSize)
	for off := l.prepareOffset(slot); off < l.prepareOffset(slot)+uint64(net.options[i].MessageSizeMax); off += SectorSize {
		s.put(off, zero)
	}
	sector := make([]byte, SectorSize)
	offset := l.headerSectorOffset(slot / headersPerSector)
	s.Peek(offset, sector)
	clear(sector[slot%headersPerSector*HeaderSize:][:HeaderSize])
	s.put(offset, sector)
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
