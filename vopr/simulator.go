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
	"encoding/binary"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/kv"
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

	phase    phase
	replies  int
	digest   vsr.U128
	events   uint64
	recent   [recentEvents]event // ring of the last events (without their data), for reports
	recentAt int

	process       *faults.PRNG // pause draws: a stream of their own, so the network's draws never shift them
	livenessStart uint64

	log      io.Writer
	logLevel LogLevel
	failure  *Result
	stats    Stats
}

type phase uint8

const (
	phaseSafety phase = iota
	phaseLiveness
	phaseDone
)

const recentEvents = 64

// simReplica is a replica with its process state.
type simReplica struct {
	replica    *vsr.Replica
	machine    *kv.Store
	storage    *storage
	tickNs     uint64 // this replica's tick period, drift included
	paused     bool
	held       []event // deliveries and completions that arrived while paused
	pausedAtNs uint64
}

// Stats counts what happened in a run.
type Stats struct {
	Network       NetworkStats
	Ticks         uint64 // ticks of simulated time (10 ms each)
	Events        uint64
	Requests      uint64 // requests the clients issued
	Replies       uint64
	Evictions     uint64
	ViewChanges   uint64
	Pauses        uint64
	Committed     uint64 // highest op committed
	StorageWrites uint64
	StorageReads  uint64
	StorageFaults uint64
	// AwaitingStateTransfer counts replicas that ended the run behind every
	// journal's window.
	AwaitingStateTransfer uint64
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
	// Visualization is an HTML picture of an illegal history, if written.
	Visualization string `json:"-"`
	visualize     func(path string) error
}

// New builds a simulator for opts. Log output (at level) goes to log.
func New(opts Options, log io.Writer, level LogLevel) (*Simulator, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log, level = io.Discard, logNone
	}
	s := &Simulator{opts: opts, root: faults.New(opts.Seed), log: log, logLevel: level,
		clientOf: map[vsr.U128]int{}}
	s.net = newNetwork(s, s.root.Stream("network"), &s.opts.Network, opts.Replicas, opts.Clients)
	s.process = s.root.Stream("process")
	s.check = newChecker(s)
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

func (s *Simulator) buildReplicas() error {
	drift := s.root.Stream("clock-drift")
	for i := range s.opts.Replicas {
		o := vsr.DefaultOptions(s.clusterID(), uint8(i), uint8(s.opts.Replicas))
		o.PipelineMax, o.JournalSlots = s.opts.PipelineMax, s.opts.JournalSlots
		o.ClientsMax, o.RequestQueueMax = s.opts.ClientsMax, s.opts.RequestQueueMax
		o.MessageSizeMax = s.opts.MessageSizeMax
		machine, err := kv.New(kv.Options{KeysMax: 1024, KeySizeMax: 16, ValueSizeMax: 64})
		if err != nil {
			return err
		}
		if bug, err := vsr.ParseBug(s.opts.Bug); err == nil {
			o.TestingBug = bug
		}
		st := newStorage(s, i, s.root.Stream(fmt.Sprintf("storage/replica-%d", i)), &s.opts.Storage)
		index := i
		r, err := vsr.NewReplica(o, vsr.Env{
			Bus: &replicaBus{net: s.net, node: i}, Storage: st, StateMachine: s.machineFor(i, machine),
			Random: s.root.Stream(fmt.Sprintf("replica-%d", i)),
			Hook:   func(e *vsr.Event) { s.check.onEvent(index, e) },
		})
		if err != nil {
			return err
		}
		ppm := int64(0)
		if max := int64(s.opts.Process.ClockDriftPpmMax); max > 0 {
			ppm = int64(drift.Range(0, uint64(2*max))) - max
		}
		period := uint64(int64(tickNs) + int64(tickNs)*ppm/1_000_000)
		s.replicas = append(s.replicas, &simReplica{replica: r, machine: machine, storage: st, tickNs: period})
		s.queue.push(event{at: period, kind: eventReplicaTick, a: i})
	}
	return nil
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
			res = s.result(Crash, fmt.Sprintf("panic: %v\n%s", p, debug.Stack()))
		}
	}()
	s.logf(logShort, "seed %d: %d replicas, %d clients, faults on: %v", s.opts.Seed, s.opts.Replicas,
		s.opts.Clients, s.opts.Enabled())
	for s.phase != phaseDone && s.failure == nil {
		if s.queue.len() == 0 {
			panic("vopr: event queue ran dry")
		}
		e := s.queue.pop()
		if e.at < s.now {
			panic("vopr: event scheduled in the past")
		}
		s.now = e.at
		s.handle(&e)
		s.advancePhase()
	}
	if s.failure != nil {
		return s.failure
	}
	for _, r := range s.replicas {
		if r.replica.NeedsStateTransfer() {
			s.stats.AwaitingStateTransfer++
		}
	}
	return s.finish()
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
	case eventClientGo:
		s.clients[e.a].next()
	default:
		panic(fmt.Sprintf("vopr: unknown event kind %d", e.kind))
	}
}

// fold adds an event to the run's digest: its time, kind, ends, tag and
// the checksum of any message it carries.
func (s *Simulator) fold(e *event) {
	var b [16 + 8 + 1 + 8 + 8 + 8 + 16]byte
	binary.LittleEndian.PutUint64(b[0:], s.digest.Lo)
	binary.LittleEndian.PutUint64(b[8:], s.digest.Hi)
	binary.LittleEndian.PutUint64(b[16:], e.at)
	b[24] = byte(e.kind)
	binary.LittleEndian.PutUint64(b[25:], uint64(e.a))
	binary.LittleEndian.PutUint64(b[33:], uint64(e.b))
	binary.LittleEndian.PutUint64(b[41:], e.tag)
	if e.data != nil {
		m := vsr.Checksum(e.data)
		binary.LittleEndian.PutUint64(b[49:], m.Lo)
		binary.LittleEndian.PutUint64(b[57:], m.Hi)
	}
	s.digest = vsr.Checksum(b[:])
	s.recent[s.recentAt%recentEvents] = event{at: e.at, kind: e.kind, a: e.a, b: e.b, tag: e.tag, seq: uint64(len(e.data))}
	s.recentAt++
}

func (s *Simulator) replicaTick(e *event) {
	r := s.replicas[e.a]
	s.queue.push(event{at: s.now + r.tickNs, kind: eventReplicaTick, a: e.a})
	if r.paused {
		return
	}
	r.replica.Tick()
	if e.a == 0 {
		s.stats.Ticks++
	}
}

func (s *Simulator) deliver(e *event) {
	if !s.net.arrive(e.a, e.b) {
		s.net.recycle(e.data)
		return
	}
	if e.b < s.opts.Replicas {
		r := s.replicas[e.b]
		if r.paused {
			r.held = append(r.held, *e)
			return
		}
		r.replica.Receive(e.data)
	} else {
		s.clients[e.b-s.opts.Replicas].client.Receive(e.data)
	}
	s.net.recycle(e.data)
}

func (s *Simulator) storageDone(e *event) {
	r := s.replicas[e.a]
	if r.paused {
		r.held = append(r.held, *e)
		return
	}
	r.replica.StorageDone(e.tag, nil)
}

// step draws the network's and the processes' faults for the next 100 ms.
func (s *Simulator) step() {
	s.queue.push(event{at: s.now + stepNs, kind: eventStep})
	s.net.step()
	for i, r := range s.replicas {
		start := s.process.Chance(s.opts.Process.Pause)
		length := s.process.Exponential(s.opts.Process.PauseMeanNs)
		if start && !r.paused && s.phase == phaseSafety {
			r.paused = true
			r.pausedAtNs = s.now
			s.stats.Pauses++
			s.queue.push(event{at: s.now + length, kind: eventResume, a: i})
			s.logf(logShort, "replica %d paused for %d ms", i, length/1_000_000)
		}
	}
}

// resume ends replica i's pause: what arrived meanwhile is handled now, in
// arrival order.
func (s *Simulator) resume(i int) {
	r := s.replicas[i]
	if !r.paused {
		return
	}
	r.paused = false
	held := r.held
	r.held = nil
	for k := range held {
		e := &held[k]
		if e.kind == eventStorage {
			r.replica.StorageDone(e.tag, nil)
		} else {
			r.replica.Receive(e.data)
			s.net.recycle(e.data)
		}
	}
	s.logf(logShort, "replica %d resumed after %d ms", i, (s.now-r.pausedAtNs)/1_000_000)
}

// advancePhase ends the safety phase after enough replies or ticks, and the
// liveness phase once the cluster finished its work (or ran out of time).
func (s *Simulator) advancePhase() {
	switch s.phase {
	case phaseSafety:
		if s.replies >= s.opts.RequestsMax || s.now >= uint64(s.opts.TicksMax)*tickNs {
			s.startLiveness()
		}
	case phaseLiveness:
		if s.converged() {
			s.phase = phaseDone
			return
		}
		if s.now >= s.livenessDeadline() {
			s.fail(Liveness, "the healed cluster did not converge within "+
				fmt.Sprint(s.opts.LivenessTicksMax)+" ticks:\n"+s.describe())
		}
	}
}

func (s *Simulator) livenessDeadline() uint64 {
	return s.livenessStart + uint64(s.opts.LivenessTicksMax)*tickNs
}

// startLiveness heals everything and stops every fault; clients finish
// what they have in flight and start nothing new.
func (s *Simulator) startLiveness() {
	s.phase = phaseLiveness
	s.livenessStart = s.now
	s.net.stopFaults()
	for i := range s.replicas {
		s.resume(i)
	}
	for _, c := range s.clients {
		c.stopped = true
	}
	s.logf(logShort, "liveness phase: faults off, %d replies so far", s.replies)
}

// converged reports whether every client is idle and every replica that can
// catch up from journals is normal in one view, executed to the highest
// commit, with one state digest. A replica that fell out of every journal's
// window needs state transfer, which the durability issue brings; until
// then it is left out, as long as a view-change quorum converges without it.
func (s *Simulator) converged() bool {
	for _, c := range s.clients {
		if c.client.Busy() || !c.idle() {
			return false
		}
	}
	var view uint32
	var commit uint64
	for _, r := range s.replicas {
		commit = max(commit, r.replica.CommitMax())
		view = max(view, r.replica.View())
	}
	var digest vsr.U128
	first, core := true, 0
	for _, r := range s.replicas {
		rr := r.replica
		if rr.NeedsStateTransfer() {
			continue
		}
		core++
		if rr.Status() != vsr.StatusNormal || rr.View() != view || rr.CommitMin() != commit {
			return false
		}
		if first {
			digest, first = rr.Digest(), false
		} else if rr.Digest() != digest {
			return false
		}
	}
	return core >= vsr.QuorumViewChange(len(s.replicas))
}

// describe summarizes every replica and client, for failure messages.
func (s *Simulator) describe() string {
	out := ""
	for i, r := range s.replicas {
		rr := r.replica
		out += fmt.Sprintf("  replica %d: %s view=%d log_view=%d op=%d commit_min=%d commit_max=%d paused=%v state_transfer=%v\n",
			i, rr.Status(), rr.View(), rr.LogView(), rr.Op(), rr.CommitMin(), rr.CommitMax(), r.paused, rr.NeedsStateTransfer())
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
	res := &Result{Class: class, Message: message, TimeNs: s.now, Tick: s.now / tickNs,
		Digest: s.digest.String(), Stats: s.stats, Linearizability: "skipped"}
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
