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
