package vopr

import (
	"strings"

	"github.com/govsr/govsr/vsr"
)

// The timeline recorder: what a run did, per replica, on simulated time,
// for the HTML picture of timeline_html.go. It only reads the simulator's
// state (after each event, and through the replicas' event hook); it
// draws nothing from any PRNG and schedules nothing, so a run records the
// same events and digest with or without it. A simulator without a
// recorder pays one nil check per event.
//
// Memory is bounded: status segments, marks and link cuts together stop at
// timelineItemsMax (the picture then says where recording stopped), and
// the per-replica series are binned with bins that double in width as the
// run grows, never more than timelineBinsMax of them.

const (
	timelineItemsMax  = 50_000
	timelineBinsMax   = 4096
	timelineDetailMax = 240 // bytes of a reason or detail kept
)

// Timeline is a recording of one run, for its picture.
type Timeline struct {
	sim      *Simulator
	lanes    []timelineLane
	marks    []timelineMark
	net      timelineNet
	items    int
	itemsMax int // timelineItemsMax; tests lower it
	capped   bool
	cappedNs uint64 // when recording stopped, if capped

	livenessNs   uint64 // start of the liveness phase; 0 if never reached
	core         []bool // the liveness phase's core, if reached
	fates        []string
	lastPhase    phase
	churn        bool   // the view churn chaos kind is on
	evictions    uint64 // client-side evictions seen so far
	replacements uint64 // disk replacements seen so far
}

// laneState is what a replica's status band shows at one time.
type laneState struct {
	status  vsr.Status
	view    uint32
	primary bool // primary of its view and normal
	paused  bool
	down    bool
}

// laneSegment is a laneState from atNs until the next segment.
type laneSegment struct {
	atNs   uint64
	state  laneState
	reason string // why it changed, when the replica said
}

// timelineLane is one replica's recording.
type timelineLane struct {
	segments    []laneSegment
	cur         laneState
	incarnation int
	diskFaults  uint64    // the disk's fault count at the last look
	tornWrites  uint64    // torn and lost writes at the last look
	commit      binSeries // the highest op executed (commit_min) per bin
	commitSeen  uint64
	storage     binSeries // disk faults per bin
	opened      string    // what the latest open found, for its restart mark
}

// markKind is an instant on a lane.
type markKind uint8

const (
	markCrash markKind = iota + 1
	markRestart
	markDiskReplaced
	markStateTransfer
	markCheckpoint
	markTruncation
	markViolation
	markEviction // on the clients lane
	markKindCount
)

var markNames = [markKindCount]string{markCrash: "crash", markRestart: "restart",
	markDiskReplaced: "disk replaced", markStateTransfer: "state transfer", markCheckpoint: "checkpoint",
	markTruncation: "truncation", markViolation: "protocol violation", markEviction: "eviction"}

// timelineMark is an instant: replica is -1 for the clients lane.
type timelineMark struct {
	atNs    uint64
	replica int
	kind    markKind
	detail  string
}

// RecordTimeline starts recording the run's timeline; call it before Run.
// The result is drawn with Timeline.WriteHTML once the run is over.
func (s *Simulator) RecordTimeline() *Timeline {
	if s.timeline != nil {
		return s.timeline
	}
	t := &Timeline{sim: s, lanes: make([]timelineLane, len(s.replicas)), itemsMax: timelineItemsMax}
	for i, r := range s.replicas {
		l := &t.lanes[i]
		l.commit.maxMode = true
		l.incarnation = r.incarnation
		l.cur = t.stateOf(r)
		l.segments = append(l.segments, laneSegment{atNs: s.now, state: l.cur})
		l.commitSeen = r.replica.CommitMin()
		l.commit.add(s.now, l.commitSeen)
	}
	t.net.init(s)
	t.churn = s.opts.Chaos.Churn.Num > 0 && s.opts.Chaos.ChurnViews > 0
	s.timeline = t
	return t
}

// stateOf reads replica r's state as the status band shows it.
func (t *Timeline) stateOf(r *simReplica) laneState {
	rr := r.replica
	st := laneState{status: rr.Status(), view: rr.View(), paused: r.paused, down: r.down}
	st.primary = rr.IsPrimary() && st.status == vsr.StatusNormal
	return st
}

// take reports whether there is room for one more item, and counts it.
func (t *Timeline) take() bool {
	if t.items >= t.itemsMax {
		if !t.capped {
			t.capped, t.cappedNs = true, t.sim.now
		}
		return false
	}
	t.items++
	return true
}

func (t *Timeline) mark(replica int, kind markKind, detail string) {
	if t.take() {
		t.marks = append(t.marks, timelineMark{atNs: t.sim.now, replica: replica, kind: kind, detail: clip(detail)})
	}
}

// setState starts a new segment on lane i if its state changed.
func (t *Timeline) setState(i int, st laneState, reason string) {
	l := &t.lanes[i]
	if st == l.cur {
		return
	}
	l.cur = st
	if t.take() {
		l.segments = append(l.segments, laneSegment{atNs: t.sim.now, state: st, reason: clip(reason)})
	}
}

// onEvent is fed every replica event (the replica's hook). The replica
// may be one that is opening and not yet the simReplica's: only the
// event's own fields are read.
func (t *Timeline) onEvent(i int, e *vsr.Event) {
	switch e.Kind {
	case vsr.EventStatus:
		st := t.lanes[i].cur
		st.status, st.view = e.Status, e.View
		st.primary = e.Status == vsr.StatusNormal && int(e.View)%len(t.lanes) == i
		t.setState(i, st, e.Reason)
		if strings.HasPrefix(e.Reason, "truncated") {
			t.mark(i, markTruncation, e.Reason)
		}
	case vsr.EventStateTransfer:
		t.mark(i, markStateTransfer, "took a checkpoint at op "+itoa(e.Op))
	case vsr.EventCheckpoint:
		t.mark(i, markCheckpoint, "checkpoint durable at op "+itoa(e.Op))
	case vsr.EventViolation:
		t.mark(i, markViolation, e.Reason)
	case vsr.EventOpened:
		t.lanes[i].opened = "opened at view " + itoa(uint64(e.View)) + ", head op " + itoa(e.Op) +
			", commit " + itoa(e.Commit) + "; " + e.Reason
	}
}

// observe runs after every event (its kind and ends): what changed without an event of the
// replica's own (crashes, restarts, pauses, disks, commits, the network,
// the phase). An event of one replica's (a tick, a delivery to it, its
// disk's completion, its restart or resume) changes only that replica;
// fault steps, chaos actions and the phase change may change any.
func (t *Timeline) observe(kind eventKind, a, b int) {
	s := t.sim
	phaseChanged := s.phase != t.lastPhase
	broad := phaseChanged || kind == eventStep || kind == eventChaos
	switch {
	case broad:
		for i, r := range s.replicas {
			t.observeReplica(i, r)
		}
	case kind == eventReplicaTick || kind == eventStorage || kind == eventResume || kind == eventRestart:
		t.observeReplica(a, s.replicas[a])
	case kind == eventDeliver && b < len(s.replicas):
		t.observeReplica(b, s.replicas[b])
	}
	if s.stats.Evictions > t.evictions {
		t.mark(-1, markEviction, itoa(s.stats.Evictions-t.evictions)+" client session(s) evicted")
		t.evictions = s.stats.Evictions
	}
	if phaseChanged && t.lastPhase == phaseSafety {
		t.livenessNs = s.livenessStart
		t.core = append([]bool(nil), s.core...)
	}
	t.lastPhase = s.phase
	// View churn ends an isolation from inside a replica's send, so with
	// churn on the replica links are looked at after every event.
	if broad || t.churn {
		t.net.observe(t, broad)
	}
}

func (t *Timeline) observeReplica(i int, r *simReplica) {
	s := t.sim
	l := &t.lanes[i]
	st := l.cur
	st.down, st.paused = r.down, r.paused
	if !r.down {
		st = t.stateOf(r)
	}
	m := r.storage.Stats()
	torn := m.Torn + m.Lost
	if r.down && !l.cur.down {
		detail := "power loss"
		if torn > l.tornWrites {
			detail += "; " + itoa(torn-l.tornWrites) + " write(s) in flight torn or lost"
		}
		t.mark(i, markCrash, detail)
	}
	l.tornWrites = torn
	if r.incarnation != l.incarnation {
		l.incarnation = r.incarnation
		t.noteReplacement(i)
		t.mark(i, markRestart, "incarnation "+itoa(uint64(r.incarnation))+": "+l.opened)
	}
	t.setState(i, st, "")
	if faults := r.storage.faultCount() + m.TornSectors; faults != l.diskFaults {
		l.storage.add(s.now, faults-l.diskFaults)
		l.diskFaults = faults
	}
	// A replica opening its data file has not yet found its commit: a
	// sample then would dip to zero.
	if c := r.replica.CommitMin(); c != l.commitSeen && !r.down && !r.replica.Opening() {
		l.commit.add(s.now, c)
		l.commitSeen = c
	}
}

// noteReplacement marks lane i's disk replaced, once per replacement the
// atlas counted.
func (t *Timeline) noteReplacement(i int) {
	a := t.sim.storageAtlas
	if a != nil && a.stats.Replacements > t.replacements {
		t.replacements = a.stats.Replacements
		t.mark(i, markDiskReplaced, "disk replaced while down: restarted on a --rejoin data file")
	}
}

// clip bounds a detail string kept by the recorder.
func clip(s string) string { return clipTo(s, timelineDetailMax) }

func itoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// binSeries is a series over simulated time in at most timelineBinsMax
// bins: a sum per bin, or (maxMode) the largest value plus one (zero: no
// sample). When a sample falls beyond the last bin, neighbouring bins
// merge and the width doubles, so the series covers any run length.
type binSeries struct {
	binNs   uint64
	bins    []uint64
	maxMode bool
}

func (b *binSeries) add(atNs, v uint64) {
	if b.binNs == 0 {
		b.binNs = tickNs
	}
	for atNs/b.binNs >= timelineBinsMax {
		b.halve()
	}
	i := int(atNs / b.binNs)
	for len(b.bins) <= i {
		b.bins = append(b.bins, 0)
	}
	if b.maxMode {
		b.bins[i] = max(b.bins[i], v+1)
	} else {
		b.bins[i] += v
	}
}

// halve merges bins pairwise and doubles their width.
func (b *binSeries) halve() {
	n := (len(b.bins) + 1) / 2
	for i := range n {
		v := b.bins[2*i]
		if 2*i+1 < len(b.bins) {
			if b.maxMode {
				v = max(v, b.bins[2*i+1])
			} else {
				v += b.bins[2*i+1]
			}
		}
		b.bins[i] = v
	}
	b.bins = b.bins[:n]
	b.binNs *= 2
}
