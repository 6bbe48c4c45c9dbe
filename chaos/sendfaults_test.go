package chaos

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// sendHeldMax bounds the messages one connection holds back at once; a
// delayed message beyond it is dropped instead.
const sendHeldMax = 256

// sendFaults drops, delays (reorders) and corrupts the messages the
// clients send, at the round's rates, as each replica's bus does to what
// it sends (vsr/bus faults.go): the replicas' buses fault the replies,
// this the requests. It sits under the client library as its
// Options.Dialer and cuts the byte stream the library writes back into
// messages by their headers.
type sendFaults struct {
	rates rates
	armed atomic.Bool

	mu     sync.Mutex // guards random and conns
	random *faults.PRNG
	conns  int

	dropped, delayed, corrupted atomic.Uint64
}

func newSendFaults(r rates, random *faults.PRNG) *sendFaults {
	return &sendFaults{rates: r, random: random}
}

func (f *sendFaults) String() string {
	return fmt.Sprintf("client requests dropped %d, delayed %d, corrupted %d", f.dropped.Load(), f.delayed.Load(),
		f.corrupted.Load())
}

// dial is the library's dialer: TCP, wrapped.
func (f *sendFaults) dial(ctx context.Context, address string) (net.Conn, error) {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conns++
	return &faultyConn{Conn: conn, faults: f, random: f.random.Stream(fmt.Sprintf("conn-%d", f.conns))}, nil
}

// fate is what happens to one message.
type fate struct {
	drop  bool
	bit   int           // the bit to flip, or -1
	delay time.Duration // how long to hold it back, or 0
}

// draw decides one message's fate. Every decision draws, whatever the
// others said, so that one rate does not shift the others' draws.
func (f *sendFaults) draw(random *faults.PRNG, size int) fate {
	if !f.armed.Load() {
		return fate{bit: -1}
	}
	drop, delay, corrupt := random.Chance(f.rates.drop), random.Chance(f.rates.delay), random.Chance(f.rates.corrupt)
	bit := random.IntN(size * 8)
	wait := time.Duration(random.Exponential(uint64(f.rates.delayMean)))
	out := fate{drop: drop, bit: -1}
	if corrupt {
		out.bit = bit
	}
	if delay {
		out.delay = wait
	}
	return out
}

// faultyConn applies the faults to each whole message written on it.
// Write runs on one goroutine (the library's writer of this connection);
// held messages go out later from timers, one whole message at a time.
type faultyConn struct {
	net.Conn
	faults  *sendFaults
	random  *faults.PRNG // Write's goroutine only
	pending []byte       // the start of a message not yet whole
	held    atomic.Int32
	writeMu sync.Mutex // one message at a time on the stream
}

func (c *faultyConn) Write(p []byte) (int, error) {
	c.pending = append(c.pending, p...)
	start := 0
	for len(c.pending)-start >= vsr.HeaderSize {
		h, err := vsr.DecodeHeader(c.pending[start : start+vsr.HeaderSize])
		if err != nil || h.Size < vsr.HeaderSize {
			return 0, fmt.Errorf("chaos: the client wrote a message that is not one: %v", err)
		}
		end := start + int(h.Size)
		if end > len(c.pending) {
			break
		}
		if err := c.send(c.pending[start:end]); err != nil {
			return 0, err
		}
		start = end
	}
	c.pending = append(c.pending[:0], c.pending[start:]...)
	return len(p), nil
}

// send writes message now, later, corrupted or not at all.
func (c *faultyConn) send(message []byte) error {
	f := c.faults.draw(c.random, len(message))
	if f.drop {
		c.faults.dropped.Add(1)
		return nil
	}
	if f.bit >= 0 {
		message = append([]byte(nil), message...)
		message[f.bit/8] ^= 1 << (f.bit % 8)
		c.faults.corrupted.Add(1)
	}
	if f.delay == 0 {
		return c.write(message)
	}
	if c.held.Add(1) > sendHeldMax {
		c.held.Add(-1)
		c.faults.dropped.Add(1)
		return nil
	}
	c.faults.delayed.Add(1)
	held := append([]byte(nil), message...)
	time.AfterFunc(f.delay, func() {
		defer c.held.Add(-1)
		_ = c.write(held) // the connection may have closed meanwhile: the protocol resends
	})
	return nil
}

func (c *faultyConn) write(message []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_, err := c.Conn.Write(message)
	return err
}
