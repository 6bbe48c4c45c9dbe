package bus

import (
	"testing"
	"time"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

func TestParseFaults(t *testing.T) {
	f, err := ParseFaults("seed=7,drop=1/100,delay=1/20,delay-mean=20ms,corrupt=1/1000,armed=false")
	if err != nil {
		t.Fatal(err)
	}
	want := Faults{Seed: 7, Drop: faults.Ratio{Num: 1, Den: 100}, Delay: faults.Ratio{Num: 1, Den: 20},
		DelayMean: 20 * time.Millisecond, Corrupt: faults.Ratio{Num: 1, Den: 1000}}
	if *f != want {
		t.Fatalf("parsed %+v, want %+v", *f, want)
	}
	if back, err := ParseFaults(f.String()); err != nil || *back != *f {
		t.Fatalf("String %q parsed back to %+v, %v", f.String(), back, err)
	}
	if f, err := ParseFaults("seed=1"); err != nil || !f.Armed || f.Drop != faults.Never {
		t.Fatalf("defaults: %+v, %v", f, err)
	}
	for _, bad := range []string{"", "seed", "seed=x", "drop=2/1", "drop=0.1", "delay-mean=0s", "speed=1"} {
		if _, err := ParseFaults(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// sequenced is a prepare whose op numbers it, so reordering shows.
func sequenced(t *testing.T, cluster vsr.U128, op uint64) []byte {
	t.Helper()
	h := vsr.Header{Command: vsr.CommandPrepare, Cluster: cluster, Replica: 0, View: 1, Op: op}
	buf := make([]byte, vsr.HeaderSize+64)
	if _, err := vsr.Encode(buf, &h, make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	return buf
}

// Armed, the hook drops, delays (reorders) and corrupts; every corrupted
// message is caught by a checksum. Disarmed, everything arrives in order.
func TestFaultsDropDelayCorrupt(t *testing.T) {
	cluster := vsr.U128{Lo: 6}
	addrs := []string{freeAddress(t), freeAddress(t)}
	spec := &Faults{Seed: 3, Drop: faults.Percent(20), Delay: faults.Percent(30), DelayMean: 5 * time.Millisecond,
		Corrupt: faults.Percent(4), Armed: true}
	var ops []uint64
	var invalid int
	sender, err := New(Config{Cluster: cluster, Addresses: addrs, Replica: 0, MessageSizeMax: 8 << 10, Faults: spec}, func([]byte) {})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	receiver, err := New(Config{Cluster: cluster, Addresses: addrs, Replica: 1, MessageSizeMax: 8 << 10}, func(m []byte) {
		h, _, err := vsr.Decode(m, 8<<10)
		if err != nil {
			invalid++
			return
		}
		ops = append(ops, h.Op)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer receiver.Close()
	poll := func(d time.Duration, until func() bool) {
		for deadline := time.Now().Add(d); !until() && time.Now().Before(deadline); {
			_ = sender.Poll(time.Millisecond)
			_ = receiver.Poll(time.Millisecond)
		}
	}
	connected := func() bool { return sender.peers[1] != nil && !sender.peers[1].connecting }
	poll(5*time.Second, connected)
	for op := range uint64(300) {
		poll(5*time.Second, connected)
		sender.SendToReplica(1, sequenced(t, cluster, op+1))
		poll(time.Millisecond, func() bool { return false })
	}
	poll(500*time.Millisecond, func() bool { return len(sender.faults.held) == 0 })
	s := sender.FaultStats()
	reordered := 0
	for i := 1; i < len(ops); i++ {
		if ops[i] < ops[i-1] {
			reordered++
		}
	}
	t.Logf("fault stats %+v; delivered %d valid (%d out of order), %d invalid; bus %+v", s, len(ops), reordered,
		invalid, receiver.Stats())
	if s.Dropped == 0 || s.Delayed == 0 || s.Corrupted == 0 || reordered == 0 || len(ops) == 0 {
		t.Fatalf("armed faults did too little: %+v, %d reordered, %d delivered", s, reordered, len(ops))
	}
	if uint64(len(ops)) > 300-s.Dropped-s.Corrupted {
		t.Fatalf("%d valid deliveries, but %d of 300 were dropped and %d corrupted", len(ops), s.Dropped, s.Corrupted)
	}

	sender.ArmFaults(false)
	poll(5*time.Second, connected)
	ops = ops[:0]
	for op := range uint64(20) {
		sender.SendToReplica(1, sequenced(t, cluster, op+1))
	}
	poll(5*time.Second, func() bool { return len(ops) == 20 })
	for i, op := range ops {
		if op != uint64(i+1) {
			t.Fatalf("disarmed: delivered ops %v, want 1 to 20 in order", ops)
		}
	}
	if len(ops) != 20 || sender.FaultStats() != s {
		t.Fatalf("disarmed: delivered %d of 20; stats %+v moved from %+v", len(ops), sender.FaultStats(), s)
	}
}
