// Package vopr is govsr's simulator: one seed drives every replica, client,
// network link and disk of a cluster through a discrete-event loop on
// simulated time, in one goroutine, with faults drawn from the seed; the
// checkers decide whether the cluster stayed correct (canonical chain,
// linearizability, state agreement) and live.
//
// Nothing here reads the wall clock or starts a goroutine: the same seed
// gives the same run, event for event, and the same digest, on any machine.
package vopr

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// Simulated time.
const (
	tickNs = 10_000_000  // a replica or client tick: 10 ms
	stepNs = 100_000_000 // faults are drawn every 100 ms
)

// Class is the verdict of a run.
type Class string

// Verdicts. Their exit codes (cmd/vopr) are 0, 127, 128, 129 and 3.
const (
	Pass        Class = "passed"
	Crash       Class = "crash"       // a panic inside the simulated system
	Liveness    Class = "liveness"    // the healed cluster did not finish its work in time
	Correctness Class = "correctness" // a checker caught a safety violation
	Unknown     Class = "unknown"     // linearizability could not be decided in time
)

// LogLevel selects what the simulator writes to its log.
type LogLevel int

const (
	logNone  LogLevel = iota
	logShort          // faults, view changes, phases
	logFull           // every event
)

// ParseLogLevel parses "none", "short" or "full".
func ParseLogLevel(s string) (LogLevel, error) {
	switch s {
	case "", "none":
		return logNone, nil
	case "short":
		return logShort, nil
	case "full":
		return logFull, nil
	}
	return logNone, fmt.Errorf("unknown log level %q (want none, short or full)", s)
}

// Simulator runs one seed.
type Simulator struct {
	opts  Options
	root  *faults.PRNG
	queue eventQueue
	now   uint64 // simulated ns

	replicas []*simReplica
	clients  []*workloadClient
	clientOf map[vsr.U128]int // client id → client index; lookups only
	net      *network
	check    *checker
	chaos    *chaos
	tap      func(replica int, e *vsr.Event) // tests: sees every replica event after the checkers
	timeline *Timeline                       // the run's picture, if recorded (timeline.go)
	arena    *Arena                          // buffers left by the previous run, to reuse; may be nil

	phase    phase
	replies  int
	digest   vsr.U128
	events   uint64
	recent   [recentEvents]event // ring of the last events (without their data), for reports
	recentAt int

	process       *faults.PRNG // pause draws: a stream of their own, so the network's draws never shift them
	storageAtlas  *atlas       // where storage faults may strike (vopr/atlas.go)
	livenessStart uint64
	core          []bool // the replicas the liveness phase healed (liveness.go); nil before it
	excuse        string // why the core could not converge through no fault of the protocol, if so
	// testAtLiveness, set by tests only, runs once the liveness phase's
	// core is chosen and before it heals: a test stages its scenario there.
	testAtLiveness func()

	// trail, set by CheckDeterminism only, records every event with the
	// digest after it (determinism.go); nil in a normal run.
	trail *trail
	// script, set by a scenario script only (scenario.go), drops the
	// messages and holds back the storage completions the script names;
	// tune adjusts each replica's options (its timeouts) for the script.
	script *script
	tune   func(o *vsr.Options)

	log      io.Writer
	logLevel LogLevel
	failure  *Result
	stats    Stats

	// sentHeaders decodes the headers of replicas' sends for the promises
	// checker and the chaos scenarios (header_memo.go).
	sentHeaders headerMemo
}

type phase uint8

const (
	phaseSafety phase = iota
	phaseLiveness
	phaseDone
)

const recentEvents = 64

// Stats counts what happened in a run.
type Stats struct {
	Network        NetworkStats
	Ticks          uint64 // ticks of simulated time (10 ms each)
	Events         uint64
	Requests       uint64 // requests the clients issued
	Replies        uint64
	Evictions      uint64
	ViewChanges    uint64
	Pauses         uint64
	Crashes        uint64
	Restarts       uint64
	Chaos          ChaosStats
	Checkpoints    uint64
	StateTransfers uint64
	Committed      uint64 // highest op committed
	StorageWrites  uint64
	StorageReads   uint64
	StorageFaults  uint64 // read errors, bit flips and misdirected writes
	TornWrites     uint64 // writes in flight at a crash that landed in part or not at all
	// IgnoredViolations counts what checkers turned off (Options.Checks)
	// would have failed.
	IgnoredViolations uint64
	StorageAtlas      StorageAtlasStats
}

// Result is the outcome of a run.
type Result struct {
	Class   Class    `json:"class"`
	Message string   `json:"message"`
	TimeNs  uint64   `json:"time_ns"`
	Tick    uint64   `json:"tick"`
	Digest  string   `json:"digest"`
	Stats   Stats    `json:"stats"`
	Recent  []string `json:"last_events"`
	// Linearizability is "ok", "illegal", "unknown" or "skipped" (a run
	// that failed before its history was complete).
	Linearizability string `json:"linearizability"`
	// Excuse, on a run that passed, says why the liveness phase's core
	// was let off converging: it provably lacks data (checker_convergence.go).
	Excuse string `json:"excuse,omitempty"`
	// Marks are the coverage marks the run hit, with their counts, in
	// vsr's order of marks (vopr/marks.go).
	Marks []MarkHits `json:"marks"`
	// Visualization is an HTML picture of an illegal history, if written.
	Visualization string `json:"-"`
	visualize     func(path string) error
}

// New builds a simulator for opts. Log output (at level) goes to log.
func New(opts Options, log io.Writer, level LogLevel) (*Simulator, error) {
	return NewIn(nil, opts, log, level)
}

// NewIn is New with the simulator's large buffers taken from arena (nil:
// allocated afresh), reusing those of the simulator built there before.
func NewIn(arena *Arena, opts Options, log io.Writer, level LogLevel) (*Simulator, error) {
	return newTuned(arena, opts, log, level, nil)
}

// newTuned is NewIn with each replica's vsr options adjusted by tune (nil:
// as opts draws them), for scenario scripts.
func newTuned(arena *Arena, opts Options, log io.Writer, level LogLevel, tune func(o *vsr.Options)) (*Simulator, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log, level = io.Discard, logNone
	}
	s := &Simulator{opts: opts, root: faults.New(opts.Seed), log: log, logLevel: level,
		clientOf: map[vsr.U128]int{}, arena: arena.take(), tune: tune}
	s.net = newNetwork(s, &s.stats.Network, opts.MessageSizeMax, s.root.Stream("network"), &s.opts.Network,
		opts.Replicas, opts.Clients)
	s.process = s.root.Stream("process")
	s.chaos = newChaos(s)
	s.check = newChecker(s)
	s.net.chaos, s.net.promises = s.chaos, &s.check.promises
	if err := s.buildReplicas(); err != nil {
		return nil, err
	}
	if err := s.buildClients(); err != nil {
		return nil, err
	}
	s.queue.push(event{at: stepNs, kind: eventStep})
	return s, nil
}

// clusterID is derived from the seed so that two runs never share one.
func (s *Simulator) clusterID() vsr.U128 {
	return vsr.U128{Lo: s.opts.Seed | 1, Hi: 0x676f767372}
}

func (s *Simulator) buildClients() error {
	for i := range s.opts.Clients {
		c, err := newWorkloadClient(s, i)
		if err != nil {
			return err
		}
		s.clients = append(s.clients, c)
		s.clientOf[c.client.ID()] = i
		s.queue.push(event{at: uint64(i+1) * 1_000_000, kind: eventClientGo, a: i})
	}
	return nil
}

// clientNode returns the network node of client id, or -1.
func (s *Simulator) clientNode(id vsr.U128) int {
	i, ok := s.clientOf[id]
	if !ok {
		return -1
	}
	return s.opts.Replicas + i
}

// Run runs the seed to its verdict.
func (s *Simulator) Run() (res *Result) {
	defer func() {
		if p := recover(); p != nil {
			res = s.crashed(p)
		}
	}()
	s.logStart()
	s.runEvents(eventsUnlimited)
	if s.failure != nil {
		return s.failure
	}
	return s.finish()
}

// eventsUnlimited lets runEvents go to the end of the run.
const eventsUnlimited = ^uint64(0)

func (s *Simulator) logStart() {
	s.logf(logShort, "seed %d: %d replicas, %d clients, faults on: %v", s.opts.Seed, s.opts.Replicas,
		s.opts.Clients, s.opts.Enabled())
}

// runEvents handles events until the run ends or fails, or until it has
// handled limit events in all (CheckDeterminism runs two simulators a
// stretch at a time).
func (s *Simulator) runEvents(limit uint64) {
	for s.phase != phaseDone && s.failure == nil && s.events < limit {
		s.runEvent()
	}
}

// runEvent handles the next event.
func (s *Simulator) runEvent() {
	if s.queue.len() == 0 {
		panic("vopr: event queue ran dry")
	}
	var e event
	s.queue.popInto(&e)
	if e.at < s.now {
		panic("vopr: event scheduled in the past")
	}
	s.now = e.at
	if s.trail != nil {
		s.trail.handle(s, e) // by value: &e must not escape, or every event of a normal run allocates
	} else {
		s.handle(&e)
	}
	s.advancePhase()
	if s.timeline != nil {
		s.timeline.observe(e.kind, e.a, e.b)
	}
}

// crashed makes a panic the run's failure, unless a checker failed earlier
// in the same event (a replica reported a violation, then broke an
// invariant over it): the first failure is the finding, the panic its echo.
func (s *Simulator) crashed(p any) *Result {
	if s.failure != nil {
		s.failure.Message += fmt.Sprintf("\n(then a panic: %v)", p)
		return s.failure
	}
	s.failure = s.result(Crash, fmt.Sprintf("panic: %v\n%s", p, debug.Stack()))
	return s.failure
}

// handle runs one event and folds it into the digest.
func (s *Simulator) handle(e *event) {
	s.events++
	s.stats.Events++
	s.fold(e)
	if s.logLevel >= logFull {
		s.logf(logFull, "%s a=%d b=%d tag=%x len=%d", e.kind, e.a, e.b, e.tag, len(e.data))
	}
	switch e.kind {
	case eventReplicaTick:
		s.replicaTick(e)
	case eventClientTick:
		s.clients[e.a].tick()
	case eventDeliver:
		s.deliver(e)
	case eventStorage:
		s.storageDone(e)
	case eventStep:
		s.step()
	case eventResume:
		s.resume(e.a)
	case eventRestart:
		s.restart(e.a)
	case eventClientGo:
		s.clients[e.a].next()
	case eventChaos:
		s.chaos.handle(e)
	default:
		panic(fmt.Sprintf("vopr: unknown event kind %d", e.kind))
	}
}

// fold adds an event to the run's digest: its time, kind, ends, tag and
// the checksum of any message it carries.
func (s *Simulator) fold(e *event) {
	var message vsr.U128
	if e.data != nil {
		message = vsr.Checksum(e.data)
	}
	s.digest = foldDigest(s.digest, e.at, uint8(e.kind), uint64(e.a), uint64(e.b), e.tag, message)
	// Field by field: a struct literal copied in stalls on store forwarding.
	r := &s.recent[s.recentAt%recentEvents] // its data stays nil
	r.at, r.kind, r.a, r.b, r.tag, r.seq = e.at, e.kind, e.a, e.b, e.tag, uint64(len(e.data))
	s.recentAt++
}

// advancePhase ends the safety phase after enough replies or ticks, and the
// liveness phase once the cluster finished its work (or ran out of time).
func (s *Simulator) advancePhase() {
	switch s.phase {
	case phaseSafety:
		if (s.replies >= s.opts.RequestsMax && !s.chaos.holdsSafety()) || s.now >= uint64(s.opts.TicksMax)*tickNs {
			s.startLiveness()
		}
	case phaseLiveness:
		if s.converged() {
			s.phase = phaseDone
			return
		}
		if s.now >= s.livenessDeadline() {
			s.stalled()
		}
	}
}

func (s *Simulator) livenessDeadline() uint64 {
	return s.livenessStart + uint64(s.opts.LivenessTicksMax)*tickNs
}

// describe summarizes every replica and client, for failure messages.
func (s *Simulator) describe() string {
	out := ""
	for i, r := range s.replicas {
		rr := r.replica
		out += fmt.Sprintf("  replica %d: %s view=%d log_view=%d op=%d commit_min=%d commit_max=%d paused=%v down=%v opening=%v needs_state_transfer=%v faulty_disk=%v core=%v\n",
			i, rr.Status(), rr.View(), rr.LogView(), rr.Op(), rr.CommitMin(), rr.CommitMax(), r.paused, r.down,
			rr.Opening(), rr.NeedsStateTransfer(), r.storage.faulty, s.core == nil || s.core[i])
		out += "    " + rr.DescribeLog() + "\n"
	}
	for i, c := range s.clients {
		out += fmt.Sprintf("  client %d: registered=%v busy=%v view=%d\n", i, c.client.Registered(), c.client.Busy(), c.client.View())
	}
	return out
}

// fail records the first failure; the run stops after the current event.
func (s *Simulator) fail(class Class, message string) {
	if s.failure == nil {
		s.failure = s.result(class, message)
	}
}

func (s *Simulator) result(class Class, message string) *Result {
	s.stats.Committed = s.check.committed()
	s.stats.Chaos = s.chaos.stats
	s.stats.StorageWrites, s.stats.StorageReads, s.stats.StorageFaults, s.stats.TornWrites = 0, 0, 0, 0
	for _, r := range s.replicas {
		m := r.storage.Stats()
		s.stats.StorageWrites += m.Writes
		s.stats.StorageReads += m.Reads
		s.stats.StorageFaults += r.storage.faultCount()
		s.stats.TornWrites += m.Torn + m.Lost
	}
	s.stats.StorageAtlas = s.storageAtlas.stats
	res := &Result{Class: class, Message: message, TimeNs: s.now, Tick: s.now / tickNs,
		Digest: s.digest.String(), Stats: s.stats, Linearizability: "skipped", Excuse: s.excuse,
		Marks: s.check.marks.hits()}
	for i := range min(s.recentAt, recentEvents) {
		e := &s.recent[(s.recentAt-min(s.recentAt, recentEvents)+i)%recentEvents]
		res.Recent = append(res.Recent, fmt.Sprintf("%.6f ms %s a=%d b=%d tag=%x bytes=%d",
			float64(e.at)/1e6, e.kind, e.a, e.b, e.tag, e.seq))
	}
	return res
}

// finish runs the end-of-run checkers on a run that reached its end.
func (s *Simulator) finish() *Result {
	lin := s.checkLinearizability()
	res := s.result(Pass, "")
	res.Linearizability = string(lin.verdict)
	switch lin.verdict {
	case linIllegal:
		res.Class, res.Message = Correctness, "linearizability: "+lin.message
		res.visualize = lin.visualize
	case linUnknown:
		res.Class, res.Message = Unknown, "linearizability: "+lin.message
	}
	return res
}

// WriteVisualization writes the HTML picture of an illegal history to path,
// if the run has one.
func (r *Result) WriteVisualization(path string) error {
	if r.visualize == nil {
		return fmt.Errorf("vopr: no linearizability visualization for this result")
	}
	if err := r.visualize(path); err != nil {
		return err
	}
	r.Visualization = path
	return nil
}

func (s *Simulator) logf(level LogLevel, format string, args ...any) {
	if s.logLevel >= level {
		fmt.Fprintf(s.log, "[%12.3f ms] %s\n", float64(s.now)/1e6, fmt.Sprintf(format, args...))
	}
}

// Options returns the options the simulator runs with.
func (s *Simulator) Options() Options { return s.opts }
