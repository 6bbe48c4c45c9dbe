package bus

// Fault injection for real-process chaos tests: the bus can drop, corrupt
// or hold back the messages handed to it for sending, each with its own
// probability, and a replica can cut itself off from the other replicas
// for a while (a partition; its clients still reach it), all drawn from a
// faults.PRNG. It is off unless Config.Faults is
// set; when off, the send path pays one nil check and Poll one more.

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// heldMax bounds the messages held back at once; a delayed message beyond
// it is dropped instead.
const heldMax = 1024

// Faults says what the bus does wrong on purpose. Each message sent is
// dropped with probability Drop; otherwise held back for an exponential
// time of mean DelayMean (so it overtakes or is overtaken by others) with
// probability Delay; and, if not dropped, has one random bit flipped with
// probability Corrupt, which the receiver's checksums must catch. Every
// 100 ms a replica isolates itself with probability Isolate, for an
// exponential time of mean IsolateMean: it sends nothing to the other
// replicas and drops whatever they send it, while clients still reach it.
// Armed says whether injection starts on; ArmFaults turns it on and off.
type Faults struct {
	Seed        uint64
	Drop        faults.Ratio
	Delay       faults.Ratio
	DelayMean   time.Duration
	Corrupt     faults.Ratio
	Isolate     faults.Ratio
	IsolateMean time.Duration
	Armed       bool
}

// FaultStats counts what the fault hook did.
type FaultStats struct {
	Dropped, Delayed, Corrupted, Overflowed uint64
	Isolations, Cut                         uint64 // times isolated; messages to or from replicas dropped then
}

// isolationDrawEvery is how often a replica draws whether to isolate itself.
const isolationDrawEvery = 100 * time.Millisecond

// ParseFaults reads a spec such as
// "seed=7,drop=1/100,delay=1/20,delay-mean=20ms,corrupt=1/1000,isolate=1/50,isolate-mean=2s,armed=false".
// Rates are faults.Ratio "Num/Den"; a rate left out is never; armed
// defaults to true.
func ParseFaults(spec string) (*Faults, error) {
	f := &Faults{Drop: faults.Never, Delay: faults.Never, Corrupt: faults.Never, DelayMean: 10 * time.Millisecond,
		Isolate: faults.Never, IsolateMean: time.Second, Armed: true}
	for item := range strings.SplitSeq(spec, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return nil, fmt.Errorf("bus faults: %q is not key=value", item)
		}
		if err := f.set(key, value); err != nil {
			return nil, fmt.Errorf("bus faults: %s: %w", key, err)
		}
	}
	return f, f.Validate()
}

// Validate reports why f is not a fault spec the bus can run, or nil.
func (f *Faults) Validate() error {
	for _, r := range []faults.Ratio{f.Drop, f.Delay, f.Corrupt, f.Isolate} {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("bus faults: %w", err)
		}
	}
	if f.DelayMean <= 0 || f.DelayMean > time.Minute || f.IsolateMean <= 0 || f.IsolateMean > time.Hour {
		return fmt.Errorf("bus faults: delay-mean %s or isolate-mean %s outside (0, 1m] and (0, 1h]", f.DelayMean, f.IsolateMean)
	}
	return nil
}

func (f *Faults) set(key, value string) (err error) {
	switch key {
	case "seed":
		f.Seed, err = strconv.ParseUint(value, 10, 64)
	case "drop":
		err = f.Drop.UnmarshalText([]byte(value))
	case "delay":
		err = f.Delay.UnmarshalText([]byte(value))
	case "corrupt":
		err = f.Corrupt.UnmarshalText([]byte(value))
	case "delay-mean":
		f.DelayMean, err = time.ParseDuration(value)
	case "isolate":
		err = f.Isolate.UnmarshalText([]byte(value))
	case "isolate-mean":
		f.IsolateMean, err = time.ParseDuration(value)
	case "armed":
		f.Armed, err = strconv.ParseBool(value)
	default:
		err = fmt.Errorf("unknown key (want seed, drop, delay, delay-mean, corrupt, isolate, isolate-mean, armed)")
	}
	return err
}

// String writes f back as a spec ParseFaults reads.
func (f *Faults) String() string {
	return fmt.Sprintf("seed=%d,drop=%s,delay=%s,delay-mean=%s,corrupt=%s,isolate=%s,isolate-mean=%s,armed=%t",
		f.Seed, f.Drop, f.Delay, f.DelayMean, f.Corrupt, f.Isolate, f.IsolateMean, f.Armed)
}

// destination names where a held message goes once released: a replica by
// index, or (replica -1) a client by id.
type destination struct {
	replica int
	client  vsr.U128
}

type heldMessage struct {
	due     time.Time
	to      destination
	message []byte
}

// faultState is the hook's state; it lives on the loop's goroutine except
// armed, which ArmFaults may set from any goroutine (a signal handler).
type faultState struct {
	opts      Faults
	random    *faults.PRNG
	isolation *faults.PRNG // its own stream: isolating shifts no message's draws
	armed     atomic.Bool
	held      []heldMessage // unordered; bounded by heldMax
	scratch   []byte        // a corrupted copy, valid until the next send
	stats     FaultStats

	isolatedUntil time.Time    // cut off from the other replicas until then
	nextDraw      time.Time    // when to draw whether to isolate again
	isolateUntil  atomic.Int64 // IsolateFor's deadline, Unix nanoseconds
}

func newFaultState(f *Faults, replica int) *faultState {
	name := "bus/client"
	if replica >= 0 {
		name = fmt.Sprintf("bus/replica-%d", replica)
	}
	s := &faultState{opts: *f, random: faults.New(f.Seed).Stream(name), isolation: faults.New(f.Seed).Stream(name + "/isolation")}
	if replica < 0 {
		s.opts.Isolate = faults.Never // a client process has no replica peers to cut
	}
	s.armed.Store(f.Armed)
	return s
}

// ArmFaults turns fault injection on or off; messages already held back
// are still released on time. It does nothing on a loop without faults,
// and is safe to call from any goroutine.
func (l *Loop) ArmFaults(armed bool) {
	if l.faults != nil {
		l.faults.armed.Store(armed)
	}
}

// IsolateFor cuts the replica off from its peers for d from now, as an
// isolation drawn by the hook would (a chaos test aims it at the primary).
// It does nothing on a loop without faults or disarmed, and is safe to
// call from any goroutine.
func (l *Loop) IsolateFor(d time.Duration) {
	if l.faults != nil {
		l.faults.isolateUntil.Store(time.Now().Add(d).UnixNano())
	}
}

// FaultStats returns the fault hook's counters (zero when off).
func (l *Loop) FaultStats() FaultStats {
	if l.faults == nil {
		return FaultStats{}
	}
	return l.faults.stats
}

// inject decides a message's fate: it returns the message to send now
// (perhaps a corrupted copy), or nil if it was dropped or held back.
func (s *faultState) inject(to destination, message []byte) []byte {
	if !s.armed.Load() {
		return message
	}
	if to.replica >= 0 && s.isolated(time.Now()) {
		s.stats.Cut++
		return nil
	}
	// Every decision draws, whatever the earlier ones said, so that one
	// rate does not shift the others' draws.
	drop, delay, corrupt := s.random.Chance(s.opts.Drop), s.random.Chance(s.opts.Delay), s.random.Chance(s.opts.Corrupt)
	bit := s.random.IntN(len(message) * 8)
	wait := time.Duration(s.random.Exponential(uint64(s.opts.DelayMean)))
	if drop {
		s.stats.Dropped++
		return nil
	}
	if corrupt {
		s.scratch = append(s.scratch[:0], message...)
		s.scratch[bit/8] ^= 1 << (bit % 8)
		message = s.scratch
		s.stats.Corrupted++
	}
	if !delay {
		return message
	}
	if len(s.held) >= heldMax {
		s.stats.Overflowed++
		return nil
	}
	s.held = append(s.held, heldMessage{due: time.Now().Add(wait), to: to, message: append([]byte(nil), message...)})
	s.stats.Delayed++
	return nil
}

// isolated reports whether the replica is cut off from its peers now,
// drawing, every isolationDrawEvery, whether to cut it off.
func (s *faultState) isolated(now time.Time) bool {
	if !s.armed.Load() {
		s.isolatedUntil = time.Time{}
		s.isolateUntil.Store(0)
		return false
	}
	if ns := s.isolateUntil.Swap(0); ns != 0 && time.Unix(0, ns).After(s.isolatedUntil) {
		s.isolatedUntil = time.Unix(0, ns)
		s.stats.Isolations++
	}
	if !now.Before(s.nextDraw) {
		s.nextDraw = now.Add(isolationDrawEvery)
		isolate, length := s.isolation.Chance(s.opts.Isolate), time.Duration(s.isolation.Exponential(uint64(s.opts.IsolateMean)))
		if isolate && !now.Before(s.isolatedUntil) {
			s.isolatedUntil = now.Add(length)
			s.stats.Isolations++
		}
	}
	return now.Before(s.isolatedUntil)
}

// cut reports whether a received message is to be dropped: one from a
// replica (anything but a request) while isolated.
func (s *faultState) cut(command vsr.Command) bool {
	if command == vsr.CommandRequest || !s.isolated(time.Now()) {
		return false
	}
	s.stats.Cut++
	return true
}

// release sends the held messages that are due and returns how long until
// the next one is (or limit if sooner).
func (l *Loop) release(limit time.Duration) time.Duration {
	s := l.faults
	now := time.Now()
	s.isolated(now) // draw on time even when nothing is sent
	for i := 0; i < len(s.held); {
		h := s.held[i]
		if wait := h.due.Sub(now); wait > 0 {
			limit = min(limit, wait)
			i++
			continue
		}
		s.held[i] = s.held[len(s.held)-1]
		s.held[len(s.held)-1] = heldMessage{}
		s.held = s.held[:len(s.held)-1]
		if h.to.replica >= 0 {
			l.enqueue(l.peers[h.to.replica], h.message)
		} else {
			l.enqueue(l.clients[h.to.client], h.message)
		}
	}
	return limit
}
