package vopr

import (
	"fmt"
	"io"
	"strings"

	"github.com/govsr/govsr/vsr"
)

// Checking determinism, and saying where it broke.
//
// CheckDeterminism runs a seed twice in lockstep, one stretch of
// trailEvents events at a time: each simulator records every event of the
// stretch with the digest after it (its trail), and at the end of the
// stretch the two digests are compared. The digest chains every event into
// the next, so equal digests at the end of a stretch mean every event of
// the stretch was equal; differing ones are narrowed down to the first
// event whose digest differs, and that event is described for both runs.
// Memory is two trails of trailEvents records, whatever the run's length,
// and a normal run (trail nil) pays one predictable branch per event.

// trailEvents is the length of a stretch.
const trailEvents = 1024

// trail is one simulator's record of the current stretch.
type trail struct {
	records [trailEvents]trailRecord
	start   uint64      // events handled before the stretch
	before  trailRecord // the last event of the previous stretch
	// perturb, for tests only, may change an event before it is handled:
	// a stand-in for a source of nondeterminism.
	perturb func(s *Simulator, index uint64, e *event)
}

// trailRecord is what the digest folds of one event, kept to describe it,
// and the digest after it. index 0: no event.
type trailRecord struct {
	index   uint64
	at      uint64
	kind    eventKind
	a, b    int
	tag     uint64
	bytes   int
	message vsr.U128 // checksum of the message carried, if any
	header  string   // command, view and op of the message carried, if its header decodes
	digest  vsr.U128
}

// handle runs an event as Simulator.handle does, recording it first (a
// delivered message's buffer is recycled once handled) and the digest after
// (folded before the event runs, so recorded even if the event panics).
func (t *trail) handle(s *Simulator, ev event) {
	e := &ev
	index := s.events + 1
	if t.perturb != nil {
		t.perturb(s, index, e)
	}
	slot := index - t.start - 1
	if slot >= trailEvents {
		panic(fmt.Sprintf("vopr: event %d beyond the trail's stretch from %d", index, t.start))
	}
	r := &t.records[slot]
	*r = trailRecord{index: index, at: e.at, kind: e.kind, a: e.a, b: e.b, tag: e.tag, bytes: len(e.data)}
	if e.data != nil {
		r.message = vsr.Checksum(e.data)
		if h, err := vsr.DecodeHeader(e.data); err == nil {
			r.header = fmt.Sprintf("%s view=%d op=%d", h.Command, h.View, h.Op)
		}
	}
	defer func() { r.digest = s.digest }()
	s.handle(e)
}

// record returns the record of event index, which must lie in the stretch.
func (t *trail) record(index uint64) *trailRecord {
	if index == t.start {
		return &t.before
	}
	return &t.records[index-t.start-1]
}

// next starts a stretch after the events handled so far.
func (t *trail) next(handled uint64) {
	if handled > t.start {
		t.before = *t.record(handled)
	}
	t.start = handled
}

// CheckDeterminism runs opts twice in lockstep and returns the first run's
// result. If the runs differ, the result is a correctness failure whose
// message names the first divergent event: its index, tick and both runs'
// versions of it. The first run logs to log at level; the second is silent.
func CheckDeterminism(opts Options, log io.Writer, level LogLevel) (*Result, error) {
	return checkDeterminism(opts, log, level, nil)
}

func checkDeterminism(opts Options, log io.Writer, level LogLevel,
	perturb func(s *Simulator, index uint64, e *event)) (*Result, error) {
	first, err := New(opts, log, level)
	if err != nil {
		return nil, err
	}
	second, err := New(opts, nil, logNone)
	if err != nil {
		return nil, err
	}
	first.trail, second.trail = &trail{}, &trail{perturb: perturb}
	first.logStart()
	// Every stretch handles at least one event in each run or ends it, so
	// the loop ends; the bound is a backstop.
	for stretch := uint64(1); stretch < eventsUnlimited/trailEvents; stretch++ {
		limit := stretch * trailEvents
		first.runStretch(limit)
		second.runStretch(limit)
		if d := divergence(first, second); d != "" {
			res := first.result(Correctness, d)
			if first.failure != nil {
				res = first.failure
				res.Class, res.Message = Correctness, d+"\n(the first run had failed: "+firstLine(res.Message)+")"
			}
			return res, nil
		}
		if first.ended() {
			break
		}
		first.trail.next(limit)
		second.trail.next(limit)
	}
	return first.verdict(), nil
}

// runStretch handles events up to limit; a panic ends the run as a crash.
func (s *Simulator) runStretch(limit uint64) {
	defer func() {
		if p := recover(); p != nil {
			s.crashed(p)
		}
	}()
	s.runEvents(limit)
}

// verdict is what Run returns once the events are done.
func (s *Simulator) verdict() (res *Result) {
	defer func() {
		if p := recover(); p != nil {
			res = s.crashed(p)
		}
	}()
	if s.failure != nil {
		return s.failure
	}
	return s.finish()
}

func (s *Simulator) ended() bool { return s.phase == phaseDone || s.failure != nil }

// divergence compares two runs at the end of a stretch: "" if they are
// alike, else where they first differ.
func divergence(first, second *Simulator) string {
	if first.events == second.events && first.digest == second.digest && first.ended() == second.ended() {
		return ""
	}
	t1, t2 := first.trail, second.trail
	common := min(first.events, second.events)
	for index := t1.start + 1; index <= common; index++ {
		r1, r2 := t1.record(index), t2.record(index)
		if r1.digest != r2.digest {
			return fmt.Sprintf("nondeterminism: the two runs first differ at event %d (tick %d, %.6f ms)\n"+
				"  run 1: %s\n  run 2: %s\n  last event alike: %s",
				index, r1.at/tickNs, float64(r1.at)/1e6, r1.describe(first.opts.Replicas),
				r2.describe(second.opts.Replicas), t1.record(index-1).describe(first.opts.Replicas))
		}
	}
	// Alike up to the shorter run: one run ended where the other went on.
	return fmt.Sprintf("nondeterminism: the two runs are alike for %d events, then\n  run 1: %s\n  run 2: %s",
		common, first.after(common), second.after(common))
}

// after says what the run did after event index: ended (how) or went on.
func (s *Simulator) after(index uint64) string {
	if s.events > index {
		return "went on with " + s.trail.record(index+1).describe(s.opts.Replicas)
	}
	switch {
	case s.failure != nil:
		return fmt.Sprintf("ended: %s, %s", s.failure.Class, firstLine(s.failure.Message))
	case s.phase == phaseDone:
		return "ended: the cluster converged"
	}
	return "stopped at the end of the stretch, not ended"
}

// describe names an event the way the full log does, with its message.
func (r *trailRecord) describe(replicas int) string {
	if r.index == 0 {
		return "none (the start of the run)"
	}
	node := func(i int) string {
		if i < replicas {
			return fmt.Sprintf("replica %d", i)
		}
		return fmt.Sprintf("client %d", i-replicas)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#%d at %.6f ms: %s", r.index, float64(r.at)/1e6, r.kind)
	switch r.kind {
	case eventDeliver:
		fmt.Fprintf(&b, " %s -> %s", node(r.a), node(r.b))
	case eventClientTick, eventClientGo:
		fmt.Fprintf(&b, " client %d", r.a)
	case eventStep:
	case eventChaos:
		fmt.Fprintf(&b, " replica %d action %d", r.a, r.b)
	default:
		fmt.Fprintf(&b, " replica %d", r.a)
	}
	if r.tag != 0 {
		fmt.Fprintf(&b, " tag=%x", r.tag)
	}
	if r.bytes > 0 {
		header := r.header
		if header == "" {
			header = "undecodable header"
		}
		fmt.Fprintf(&b, " [%s, %d bytes, checksum %s]", header, r.bytes, r.message)
	}
	return b.String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
