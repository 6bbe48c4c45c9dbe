package vsr

import (
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
