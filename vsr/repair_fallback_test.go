package vsr

import "testing"

// A backup whose repair can get nowhere falls back to state transfer. The
// swarm found the stall at seed 200241 (every peer had let go of the
// committed op it needed, behind their checkpoints, while it was still
// inside their journals' window); later fixes moved that seed off the path,
// and no seed tried since fails with the fallback taken out, so this
// scenario replaces its corpus entry. Here no copy of one
// committed prepare ever reaches r2, neither as a prepare nor as an answer
// to its repair: it must still catch up, by taking a peer's checkpoint past
// that op, rather than stall forever below it.
func TestRepairThatStallsFallsBackToStateTransfer(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.JournalSlots = 64; o.CheckpointInterval = 16 })
	clients := net.registerClients(4)
	net.submitEach(clients)
	net.waitIdle(clients, 1000)
	lost := net.replicas[0].Op() + 1 // the next op the primary prepares
	net.drop = func(p *packet) bool {
		return p.to.replica == 2 && p.header.Command == CommandPrepare && p.header.Op == lost
	}
	for range 12 {
		net.submitEach(clients)
		net.waitIdle(clients, 1000)
	}
	if cp, _ := net.replicas[0].DurableCheckpoint(); cp <= lost {
		t.Fatalf("set-up: r0's durable checkpoint %d is not past the lost op %d", cp, lost)
	}
	if head := net.replicas[0].Op(); head >= lost+uint64(net.options[2].JournalSlots) {
		t.Fatalf("set-up: the head %d left the lost op %d out of the journals' window", head, lost)
	}
	net.run(3000, "r2 executes past the op whose prepare never reaches it", func() bool {
		return net.replicas[2].CommitMin() >= net.replicas[0].CommitMin() && net.replicas[2].CommitMin() > lost
	})
	if net.eventCount(EventStateTransfer, 2) == 0 {
		t.Fatal("r2 caught up without a state transfer: the scenario no longer stalls its repair")
	}
	marked := false
	for _, e := range net.events {
		marked = marked || (e.Kind == EventMark && e.Mark == MarkRepairFallbackTransfer && e.Replica == 2)
	}
	if !marked {
		t.Fatal("r2 took a state transfer, but not as repair's fallback (mark repair_fallback_state_transfer)")
	}
	net.checkAgreement()
}
