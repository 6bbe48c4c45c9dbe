package vopr

import (
	"testing"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// A burst, once started, fails every write until it ends, whatever the
// chance of a new one; the first write after it is drawn as usual.
func TestWriteErrorBurstFailsEveryWriteInIt(t *testing.T) {
	o := Draw(1, Force{writeErrorBurstKind: true, writeErrorKind: false})
	o.Storage.WriteErrorBurst, o.Storage.WriteErrorBurstNsMean = faults.Percent(100), 1_000_000
	s := mustNew(t, o)
	st := s.replicas[0].storage
	p := faults.New(1).Stream("test")
	var untilNs uint64
	landed, failed := st.burstFails(p, &untilNs, 4*vsr.SectorSize)
	if !failed || untilNs <= s.now || landed >= 4 {
		t.Fatalf("first write: failed %v, landed %d sectors of 4, burst until %d (now %d)", failed, landed, untilNs, s.now)
	}
	st.opts.WriteErrorBurst = faults.Never
	s.now = untilNs - 1
	if _, failed := st.burstFails(p, &untilNs, vsr.SectorSize); !failed {
		t.Fatalf("a write inside the burst succeeded")
	}
	s.now = untilNs
	if _, failed := st.burstFails(p, &untilNs, vsr.SectorSize); failed {
		t.Fatalf("a write after the burst failed with no chance of a new one")
	}
}

// Bursts draw from a stream of their own: turning them on or off changes
// no other option of a seed, and a seed without them gets no burst stream.
func TestWriteErrorBurstDrawLeavesOtherOptions(t *testing.T) {
	expectDrawLeavesOtherOptions(t, writeErrorBurstKind, func(o *Options) bool { return o.Storage.WriteErrorBurst.Num > 0 },
		func(on, off *Options) {
			on.Storage.WriteErrorBurst, on.Storage.WriteErrorBurstNsMean = off.Storage.WriteErrorBurst, off.Storage.WriteErrorBurstNsMean
		})
	s := mustNew(t, Draw(3, Force{writeErrorBurstKind: false}))
	if st := s.replicas[0].storage; st.writeErrorBurstStream(s.root, 0) != nil {
		t.Fatalf("a seed without bursts has a burst stream")
	}
}

// Seeds with bursts on pass: a correct replica never counts on a write
// that failed, however many fail together.
func TestWriteErrorBurstsPass(t *testing.T) {
	force := chaosOff()
	force[writeErrorBurstKind] = true
	for i, res := range chaosRun(t, []uint64{1, 2, 3, 4}, force, func(o *Options) { o.RequestsMax = 300 }) {
		if res.Class != Pass {
			t.Errorf("run %d: %s: %s", i, res.Class, firstLine(res.Message))
		}
	}
}
