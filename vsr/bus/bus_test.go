package bus

import (
	"net"
	"testing"
	"time"

	"github.com/govsr/govsr/vsr"
)

func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func message(t *testing.T, cluster vsr.U128, from uint8, body []byte) []byte {
	t.Helper()
	h := vsr.Header{Command: vsr.CommandCommit, Cluster: cluster, Replica: from, View: 1}
	if len(body) > 0 {
		h.Command, h.Op = vsr.CommandPrepare, 1
	}
	buf := make([]byte, vsr.HeaderSize+len(body))
	if _, err := vsr.Encode(buf, &h, body); err != nil {
		t.Fatal(err)
	}
	return buf
}

// Two replicas exchange messages; garbage on a connection closes it and
// delivers nothing.
func TestLoopsExchangeMessages(t *testing.T) {
	cluster := vsr.U128{Lo: 5}
	addrs := []string{freeAddress(t), freeAddress(t)}
	var got [2][]vsr.Header
	var loops [2]*Loop
	for i := range 2 {
		l, err := New(Config{Cluster: cluster, Addresses: addrs, Replica: i, MessageSizeMax: 8 << 10}, func(m []byte) {
			h, _, err := vsr.Decode(m, 8<<10)
			if err != nil {
				t.Errorf("replica %d received an invalid message: %v", i, err)
			}
			got[i] = append(got[i], h)
		})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		loops[i] = l
	}
	poll := func(until func() bool) {
		deadline := time.Now().Add(5 * time.Second)
		for !until() && time.Now().Before(deadline) {
			for _, l := range loops {
				if err := l.Poll(5 * time.Millisecond); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// Connections are dialed by Poll; messages sent before they are up are dropped.
	poll(func() bool { return loops[0].peers[1] != nil && !loops[0].peers[1].connecting })
	for range 50 {
		loops[0].SendToReplica(1, message(t, cluster, 0, make([]byte, 3000)))
	}
	loops[1].SendToReplica(0, message(t, cluster, 1, nil))
	poll(func() bool { return len(got[1]) == 50 && len(got[0]) == 1 })
	if len(got[1]) != 50 || len(got[0]) != 1 {
		t.Fatalf("delivered %d and %d messages, want 50 and 1", len(got[1]), len(got[0]))
	}
	raw, err := net.Dial("tcp4", addrs[1])
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Write(make([]byte, 2*vsr.HeaderSize)); err != nil {
		t.Fatal(err)
	}
	closed := loops[1].Stats().Closed
	poll(func() bool { return loops[1].Stats().Closed > closed })
	if loops[1].Stats().Closed == closed || len(got[1]) != 50 {
		t.Fatalf("garbage was not refused: closed %d, delivered %d", loops[1].Stats().Closed, len(got[1]))
	}
}

func TestConfigErrors(t *testing.T) {
	bad := []Config{
		{Addresses: []string{"127.0.0.1"}, Replica: 0, MessageSizeMax: 1 << 10}, // no port
		{Addresses: []string{"[::1:1"}, Replica: -1, MessageSizeMax: 1 << 10},
		{Addresses: []string{"127.0.0.1:1"}, Replica: 1, MessageSizeMax: 1 << 10},
		{Addresses: []string{"127.0.0.1:1"}, Replica: 0, MessageSizeMax: 10},
	}
	for i, c := range bad {
		if _, err := New(c, func([]byte) {}); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
}
