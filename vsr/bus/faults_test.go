package bus

import (
	"testing"
	"time"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

func TestParseFaults(t *testing.T) {
	f, err := ParseFaults("seed=7,drop=1/100,delay=1/20,delay-mean=20ms,corrupt=1/1000,isolate=1/50,isolate-mean=2s,armed=false")
	if err != nil {
		t.Fatal(err)
	}
	want := Faults{Seed: 7, Drop: faults.Ratio{Num: 1, Den: 100}, Delay: faults.Ratio{Num: 1, Den: 20},
		DelayMean: 20 * time.Millisecond, Corrupt: faults.Ratio{Num: 1, Den: 1000}, Isolate: faults.Ratio{Num: 1, Den: 50},
		IsolateMean: 2 * time.Second}
	if *f != want {
		t.Fatalf("parsed %+v, want %+v", *f, want)
	}
	if back, err := ParseFaults(f.String()); err != nil || *back != *f {
		t.Fatalf("String %q parsed back to %+v, %v", f.String(), back, err)
	}
	if f, err := ParseFaults("seed=1"); err != nil || !f.Armed || f.Drop != faults.Never {
		t.Fatalf("defaults: %+v, %v", f, err)
	}
	for _, bad := range []string{"", "seed", "seed=x", "drop=2/1", "drop=0.1", "delay-mean=0s", "isolate-mean=2h", "speed=1"} {
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
		Corrupt: faults.Percent(4), Isolate: faults.Never, IsolateMean: time.Second, Armed: true}
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

// An isolated replica sends nothing to its peers and drops what they send,
// but still takes its clients' requests; disarmed, it is whole again.
func TestFaultsIsolate(t *testing.T) {
	cluster := vsr.U128{Lo: 8}
	addrs := []string{freeAddress(t), freeAddress(t)}
	var got [2][]vsr.Command
	var loops [2]*Loop
	for i := range 2 {
		cfg := Config{Cluster: cluster, Addresses: addrs, Replica: i, MessageSizeMax: 8 << 10}
		if i == 0 {
			cfg.Faults = &Faults{Seed: 1, Drop: faults.Never, Delay: faults.Never, DelayMean: time.Millisecond,
				Corrupt: faults.Never, Isolate: faults.Always, IsolateMean: time.Hour, Armed: true}
		}
		l, err := New(cfg, func(m []byte) {
			h, _ := vsr.DecodeHeader(m[:vsr.HeaderSize])
			got[i] = append(got[i], h.Command)
		})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		loops[i] = l
	}
	poll := func(d time.Duration, until func() bool) {
		for deadline := time.Now().Add(d); !until() && time.Now().Before(deadline); {
			_ = loops[0].Poll(time.Millisecond)
			_ = loops[1].Poll(time.Millisecond)
		}
	}
	connected := func() bool {
		return loops[0].peers[1] != nil && !loops[0].peers[1].connecting && loops[1].peers[0] != nil && !loops[1].peers[0].connecting
	}
	poll(5*time.Second, connected)
	request := vsr.Header{Command: vsr.CommandRequest, Cluster: cluster, Client: vsr.U128{Lo: 3}, Request: 1, Session: 1, Operation: vsr.OperationUserMin}
	buf := make([]byte, vsr.HeaderSize)
	if _, err := vsr.Encode(buf, &request, nil); err != nil {
		t.Fatal(err)
	}
	loops[0].SendToReplica(1, message(t, cluster, 0, nil))
	loops[1].SendToReplica(0, message(t, cluster, 1, nil))
	loops[1].SendToReplica(0, buf) // as a client would
	poll(300*time.Millisecond, func() bool { return false })
	if len(got[1]) != 0 || len(got[0]) != 1 || got[0][0] != vsr.CommandRequest {
		t.Fatalf("isolated: replica 1 got %v (want nothing), replica 0 got %v (want the request alone)", got[1], got[0])
	}
	if s := loops[0].FaultStats(); s.Isolations != 1 || s.Cut != 2 {
		t.Fatalf("isolated: stats %+v, want 1 isolation and 2 messages cut", s)
	}
	loops[0].ArmFaults(false)
	loops[0].SendToReplica(1, message(t, cluster, 0, nil))
	loops[1].SendToReplica(0, message(t, cluster, 1, nil))
	poll(5*time.Second, func() bool { return len(got[1]) == 1 && len(got[0]) == 2 })
	if len(got[1]) != 1 || len(got[0]) != 2 {
		t.Fatalf("disarmed: replica 1 got %v, replica 0 got %v", got[1], got[0])
	}
}

// IsolateFor cuts a replica off for a while, without any isolate rate.
func TestFaultsIsolateFor(t *testing.T) {
	cluster := vsr.U128{Lo: 9}
	addrs := []string{freeAddress(t), freeAddress(t)}
	spec := &Faults{Drop: faults.Never, Delay: faults.Never, DelayMean: time.Millisecond, Corrupt: faults.Never,
		Isolate: faults.Never, IsolateMean: time.Second, Armed: true}
	var got int
	sender, err := New(Config{Cluster: cluster, Addresses: addrs, Replica: 0, MessageSizeMax: 8 << 10, Faults: spec}, func([]byte) {})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	receiver, err := New(Config{Cluster: cluster, Addresses: addrs, Replica: 1, MessageSizeMax: 8 << 10}, func([]byte) { got++ })
	if err != nil {
		t.Fatal(err)
	}
	defer receiver.Close()
	poll := func(d time.Duration) {
		for deadline := time.Now().Add(d); time.Now().Before(deadline); {
			_ = sender.Poll(time.Millisecond)
			_ = receiver.Poll(time.Millisecond)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); (sender.peers[1] == nil || sender.peers[1].connecting) && time.Now().Before(deadline); {
		poll(time.Millisecond)
	}
	sender.IsolateFor(300 * time.Millisecond)
	sender.SendToReplica(1, message(t, cluster, 0, nil))
	poll(100 * time.Millisecond)
	if got != 0 || sender.FaultStats().Isolations != 1 || sender.FaultStats().Cut != 1 {
		t.Fatalf("isolated: delivered %d, stats %+v", got, sender.FaultStats())
	}
	poll(300 * time.Millisecond)
	sender.SendToReplica(1, message(t, cluster, 0, nil))
	poll(100 * time.Millisecond)
	if got != 1 || sender.FaultStats().Isolations != 1 {
		t.Fatalf("after the isolation: delivered %d, stats %+v", got, sender.FaultStats())
	}
}
