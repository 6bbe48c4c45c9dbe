package chaos

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/kv"
)

// sent writes messages through a faultyConn in chunks that cut across
// them, as a buffered writer does, and returns what reached the other end.
func sent(t *testing.T, f *sendFaults, messages [][]byte) []byte {
	t.Helper()
	near, far := net.Pipe()
	received := make(chan []byte)
	go func() { b, _ := io.ReadAll(far); received <- b }()
	c := &faultyConn{Conn: near, faults: f, random: faults.New(1).Stream("conn")}
	stream := bytes.Join(messages, nil)
	for len(stream) > 0 {
		n := min(len(stream), 7+len(stream)/3)
		if written, err := c.Write(stream[:n]); err != nil || written != n {
			t.Fatalf("write of %d bytes: %d, %v", n, written, err)
		}
		stream = stream[n:]
	}
	time.Sleep(50 * time.Millisecond) // held messages go out
	c.writeMu.Lock()
	near.Close()
	c.writeMu.Unlock()
	return <-received
}

func testMessages(t *testing.T) [][]byte {
	var out [][]byte
	for i, body := range []string{"", "one", "a longer body than the others"} {
		m := make([]byte, vsr.HeaderSize+len(body))
		h := &vsr.Header{Command: vsr.CommandRequest, Cluster: vsr.U128{Lo: 1}, Client: vsr.U128{Lo: 9}, Session: 1,
			Operation: kv.OperationWrite, Request: uint32(i + 1)}
		if _, err := vsr.Encode(m, h, []byte(body)); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// Disarmed, the stream passes whole; armed, each message is dropped,
// corrupted in exactly one bit, or held back and sent later, whole.
func TestSendFaults(t *testing.T) {
	messages := testMessages(t)
	all := bytes.Join(messages, nil)
	r := rates{drop: faults.Never, delay: faults.Never, corrupt: faults.Never, delayMean: time.Millisecond}
	off := newSendFaults(r, faults.New(1))
	if got := sent(t, off, messages); !bytes.Equal(got, all) {
		t.Fatalf("disarmed: %d bytes arrived, want the %d sent", len(got), len(all))
	}
	cases := []struct {
		name      string
		set       func(*rates)
		wantBytes int
		flipped   int
	}{
		{"drop", func(r *rates) { r.drop = faults.Always }, 0, 0},
		{"corrupt", func(r *rates) { r.corrupt = faults.Always }, len(all), len(messages)},
		{"delay", func(r *rates) { r.delay = faults.Always }, len(all), 0},
	}
	for _, c := range cases {
		armed := r
		c.set(&armed)
		f := newSendFaults(armed, faults.New(1))
		f.armed.Store(true)
		got := sent(t, f, messages)
		if len(got) != c.wantBytes {
			t.Errorf("%s: %d bytes arrived, want %d", c.name, len(got), c.wantBytes)
			continue
		}
		if c.name == "delay" {
			for _, m := range messages {
				if !bytes.Contains(got, m) {
					t.Errorf("delay: a message arrived cut or mixed with another")
				}
			}
			continue
		}
		if flipped := bitsDiffering(got, all); len(got) > 0 && flipped != c.flipped {
			t.Errorf("%s: %d bits flipped, want %d", c.name, flipped, c.flipped)
		}
	}
}

func bitsDiffering(a, b []byte) int {
	n := 0
	for i := range a {
		for x := a[i] ^ b[i]; x != 0; x &= x - 1 {
			n++
		}
	}
	return n
}
