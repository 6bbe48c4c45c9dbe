package vsr

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// repliedInputs returns the inputs of every request that got a reply.
func (net *testNet) repliedInputs() []string {
	var inputs []string
	for _, results := range net.results {
		for _, r := range results {
			if r.Err == nil && r.Operation != OperationRegister {
				_, input, _ := strings.Cut(string(r.Body), ":")
				inputs = append(inputs, input)
			}
		}
	}
	slices.Sort(inputs)
	return inputs
}

// checkReplied asserts that replica i executed every request that got a
// reply: no acknowledged op was lost.
func (net *testNet) checkReplied(i int) {
	net.t.Helper()
	executed := map[string]bool{}
	for _, a := range net.applied(i) {
		_, input, _ := strings.Cut(a, ":")
		executed[input] = true
	}
	for _, input := range net.repliedInputs() {
		if !executed[input] {
			net.t.Fatalf("r%d lost %q, which was acknowledged to its client\napplied: %v", i, input, net.applied(i))
		}
	}
}

func TestPARRestartedBackupRecoversAndCatchesUp(t *testing.T) {
	net := newTestNet(t, 3, nil)
	c := net.addClient(1)
	net.register(c)
	for i := range 5 {
		net.submit(c, fmt.Sprintf("before-%d", i))
	}
	net.crash(2)
	for i := range 5 {
		net.submit(c, fmt.Sprintf("down-%d", i))
	}
	net.restart(2)
	if r := net.replicas[2]; r.Status() != StatusRecovering {
		t.Fatalf("restarted replica is %s, want recovering", r.Status())
	}
	net.run(500, "r2 recovered", func() bool {
		r := net.replicas[2]
		return r.Status() == StatusNormal && r.CommitMin() == net.replicas[0].CommitMin()
	})
	net.checkReplied(2)
	net.checkAgreement()
}

func TestPARFullClusterCrashLosesNoAcknowledgedOp(t *testing.T) {
	net := newTestNet(t, 3, nil)
	c1, c2 := net.addClient(1), net.addClient(2)
	net.register(c1)
	net.register(c2)
	for i := range 20 {
		net.submit(c1, fmt.Sprintf("a%d", i))
		if _, err := c2.Submit(OperationUserMin, []byte(fmt.Sprintf("b%d", i))); err != nil && i > 0 {
			t.Fatal(err)
		}
		net.step()
	}
	// Crash every replica at once, in the middle of whatever is in flight.
	for i := range net.replicas {
		net.crash(i)
	}
	for i := range net.replicas {
		net.restart(i)
	}
	net.run(2000, "cluster back", func() bool {
		for _, r := range net.replicas {
			if r.Status() != StatusNormal {
				return false
			}
		}
		return true
	})
	net.submit(c1, "after")
	net.tick(50)
	for i := range net.replicas {
		net.checkReplied(i)
	}
	net.checkAgreement()
}

func TestPARWipedReplicaRejoinsByStateTransfer(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.JournalSlots = 32; o.PipelineMax = 4 })
	c := net.addClient(1)
	net.register(c)
	for i := range 10 {
		net.submit(c, fmt.Sprintf("x%d", i))
	}
	net.crash(2)
	for i := range 80 { // more than the journal holds: only a checkpoint can bring r2 back
		net.submit(c, fmt.Sprintf("y%d", i))
	}
	wiped := newTestStorage(net.options[2], 999)
	wiped.Load(mustRejoinFormat(t, net.options[2]))
	net.storages[2] = wiped
	net.restart(2)
	net.run(3000, "r2 caught up", func() bool {
		r := net.replicas[2]
		return r.Status() == StatusNormal && r.CommitMin() == net.replicas[0].CommitMin()
	})
	if net.replicas[2].Stats().StateTransfers == 0 {
		t.Fatal("r2 caught up without a state transfer")
	}
	if got, want := net.replicas[2].Digest(), net.replicas[0].Digest(); got != want {
		t.Fatalf("r2 digest %s, r0 %s", got, want)
	}
	net.submit(c, "after")
	net.tick(30)
	net.checkAgreement()
}

func mustRejoinFormat(t *testing.T, o Options) map[uint64][]byte {
	t.Helper()
	sectors, err := FormatDataFileForRejoin(o)
	if err != nil {
		t.Fatal(err)
	}
	return sectors
}
