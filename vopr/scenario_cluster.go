package vopr

import (
	"fmt"
	"slices"

	"github.com/govsr/govsr/vsr"
)

// The scenario's cluster: built on the simulator with every random fault
// off, its clients scripted, and the commands that run it.

// scenarioOptions are the options of a scenario's simulator: every fault
// kind off (the script makes its own), quick links and disks, and phases
// that never end by themselves (the script's check ends the run).
func scenarioOptions(seed uint64, replicas, clients int) Options {
	force := Force{}
	for _, k := range FaultKinds {
		force[k] = false
	}
	o := Draw(seed, force)
	o.Replicas, o.Clients = replicas, clients
	o.PipelineMax, o.JournalSlots, o.ClientsMax, o.RequestQueueMax = 8, 64, 32, 64
	o.MessageSizeMax = 8 << 10
	o.RequestsMax, o.TicksMax, o.LivenessTicksMax = 1<<30, 10_000_000, 3_000
	o.Network.LatencyNsMin, o.Network.LatencyNsMean, o.Network.LinkCapacity = 1_000_000, 1_000_000, 64
	o.Storage.WriteLatencyNsMin, o.Storage.WriteLatencyNsMean = 500_000, 500_000
	o.Process.ClockDriftPpmMax = 0
	o.Workload.ThinkNsMean = 0
	o.Liveness.Core = false
	return o
}

// scenarioOptionsSim are the simulator options a cluster line may set
// (seed is read before the rest: it draws them).
var scenarioOptionsSim = map[string]func(o *Options, v int){
	"seed":         func(*Options, int) {},
	"pipeline":     func(o *Options, v int) { o.PipelineMax = v },
	"journal":      func(o *Options, v int) { o.JournalSlots = v },
	"clients_max":  func(o *Options, v int) { o.ClientsMax = v },
	"queue":        func(o *Options, v int) { o.RequestQueueMax = v },
	"message_size": func(o *Options, v int) { o.MessageSizeMax = uint32(v) },
	"liveness":     func(o *Options, v int) { o.LivenessTicksMax = v },
}

// scenarioOptionsReplica are the replica options a cluster line may set.
var scenarioOptionsReplica = map[string]func(o *vsr.Options, v int){
	"abdicate":            func(o *vsr.Options, v int) { o.PrimaryAbdicateTicks = v },
	"primary_timeout":     func(o *vsr.Options, v int) { o.PrimaryTimeoutTicks = v },
	"view_change_timeout": func(o *vsr.Options, v int) { o.ViewChangeTimeoutTicks = v },
	"recovery_timeout":    func(o *vsr.Options, v int) { o.RecoveryTimeoutTicks = v },
	"heartbeat":           func(o *vsr.Options, v int) { o.HeartbeatTicks = v },
	"jitter":              func(o *vsr.Options, v int) { o.JitterTicks = v },
	"checkpoint":          func(o *vsr.Options, v int) { o.CheckpointInterval = v },
}

// build makes the cluster the cluster and client lines describe.
func (sc *script) build() {
	for _, t := range sc.simTune {
		if t.key == "seed" {
			sc.seed = uint64(t.value)
		}
	}
	o := scenarioOptions(sc.seed, sc.replicas, max(1, len(sc.clientNames)))
	for _, t := range sc.simTune {
		scenarioOptionsSim[t.key](&o, t.value)
	}
	o.Bug = sc.bug
	if on := o.Enabled(); len(on) > 0 {
		sc.fail("faults left on in a scenario: %v", on)
	}
	sim, err := newTuned(nil, o, nil, logNone, sc.tuneReplica)
	if err != nil {
		sc.fail("%v", err)
	}
	sc.sim, sim.script, sim.tap = sim, sc, sc.onEvent
	for _, w := range sim.clients {
		w.scripted = true
	}
	n := sc.replicas
	sc.parted, sc.holding, sc.heldIO, sc.applied = make([]bool, n), make([]bool, n), make([][]event, n), make([][]appliedOp, n)
	sc.sent, sc.latest, sc.captured = map[sentKey]int{}, map[sentKey][]byte{}, map[string]capturedMessage{}
	sc.durable, sc.checkpoint = make([]uint32, n), make([]uint64, n)
	sc.labels = map[scriptRequest]string{}
}

// tuneReplica applies the script's replica options.
func (sc *script) tuneReplica(o *vsr.Options) {
	for _, t := range sc.replicaTune {
		scenarioOptionsReplica[t.key](o, t.value)
	}
}

// nextAt is the time of the next event.
func (q *eventQueue) nextAt() uint64 {
	_, at := q.next()
	return at
}

// checkFailure stops the script if a checker failed the run.
func (sc *script) checkFailure() {
	if f := sc.sim.failure; f != nil {
		sc.trace.flush()
		sc.fail("%s: %s", f.Class, f.Message)
	}
}

// scriptTicksMax bounds one command's run: a script is a short story.
const scriptTicksMax = 100_000

// runTicks runs n ticks of simulated time.
func (sc *script) runTicks(n int) {
	if n > scriptTicksMax {
		sc.fail("%d ticks: at most %d at once", n, scriptTicksMax)
	}
	target := sc.sim.now + uint64(n)*tickNs
	for sc.sim.queue.nextAt() <= target {
		sc.sim.runEvent()
		sc.checkFailure()
	}
}

// runUntil runs until done holds, checking after every event; it fails
// after limit ticks.
func (sc *script) runUntil(limit int, what string, done func() bool) {
	if limit > scriptTicksMax {
		sc.fail("limit=%d: at most %d ticks", limit, scriptTicksMax)
	}
	deadline := sc.sim.now + uint64(limit)*tickNs
	for !done() {
		if sc.sim.queue.nextAt() > deadline {
			sc.fail("%s: not reached within %d ticks", what, limit)
		}
		sc.sim.runEvent()
		sc.checkFailure()
	}
}

// deliver runs until no message is on the wire and no replica that is up
// (and whose completions are not held back) has storage I/O in flight.
func (sc *script) deliver() {
	deadline := sc.sim.now + deliverTicksMax*tickNs
	for !sc.quiet() {
		if sc.sim.now > deadline {
			sc.fail("the network and disks never went quiet within %d ticks", deliverTicksMax)
		}
		sc.sim.runEvent()
		sc.checkFailure()
	}
}

const deliverTicksMax = 500

func (sc *script) quiet() bool {
	for _, n := range sc.sim.net.inFlight {
		if n > 0 {
			return false
		}
	}
	for i, r := range sc.sim.replicas {
		if !r.down && !sc.holding[i] && r.storage.Pending() > 0 {
			return false
		}
	}
	return true
}

// execClients runs a client command; it reports whether cmd is one.
func (sc *script) execClients(cmd string, args []string) bool {
	switch cmd {
	case "register":
		w := sc.client(args, 1)
		if w.client.Registered() || w.client.Busy() {
			sc.fail("client %s is registered or busy", args[0])
		}
		if err := w.client.Register(); err != nil {
			sc.fail("%v", err)
		}
		w.startTicking()
		sc.runUntil(2000, "registered", w.client.Registered)
	case "submit", "send":
		sc.submit(opWrite, args, cmd == "submit")
	case "read":
		sc.submit(opRead, append(args[:1:1], append([]string{""}, args[1:]...)...), true)
	case "load":
		sc.load(args)
	case "wait":
		w := sc.client(args[:1], 1)
		sc.runUntil(sc.limit(args[1:], 3000), "client idle", w.idle)
	default:
		return false
	}
	return true
}

// client returns the client args[0] names, with n arguments in all.
func (sc *script) client(args []string, n int) *workloadClient {
	if len(args) < n {
		sc.fail("want %d arguments", n)
	}
	return sc.sim.clients[sc.clientIndex(args[0], true)]
}

// limit reads limit=TICKS from args, or def.
func (sc *script) limit(args []string, def int) int {
	for _, a := range sc.args(args) {
		if a.key != "limit" {
			sc.fail("unknown argument %q", a.key)
		}
		def = sc.num(a.value)
	}
	return def
}

// submit issues a read or write of args (ID VALUE [key=K]) and, with
// wait, runs until its reply.
func (sc *script) submit(kind opKind, args []string, wait bool) {
	w := sc.client(args, 2)
	if !w.client.Registered() || w.client.Busy() {
		sc.fail("client %s is not registered, or busy", args[0])
	}
	op := historyOp{client: w.index, kind: kind, key: "k", value: args[1]}
	for _, a := range sc.args(args[2:]) {
		if a.key != "key" {
			sc.fail("unknown argument %q", a.key)
		}
		op.key = a.value
	}
	label := op.value
	if kind == opRead {
		label = "read(" + op.key + ")"
	}
	request := w.issue(op)
	sc.labels[scriptRequest{client: w.index, request: request}] = label
	if wait {
		sc.runUntil(3000, "the reply", w.idle)
	}
}

// load runs rounds in which each named client writes once (the value
// ID.ROUND under key k) and every reply is awaited: load ID... rounds=N.
func (sc *script) load(args []string) {
	if len(args) < 2 {
		sc.fail("load ID... rounds=N")
	}
	a := sc.args(args[len(args)-1:])
	if a[0].key != "rounds" {
		sc.fail("load ends with rounds=N")
	}
	ids := args[:len(args)-1]
	rounds := sc.num(a[0].value)
	sc.loading = true
	for round := range rounds {
		for _, id := range ids {
			sc.submit(opWrite, []string{id, fmt.Sprintf("%s.%d", id, round+1)}, false)
		}
		for _, id := range ids {
			sc.runUntil(3000, "the replies of a load round", sc.client([]string{id}, 1).idle)
		}
	}
	sc.loading = false
	text := fmt.Sprintf("load: %d writes answered; commit_min", rounds*len(ids))
	for i, r := range sc.sim.replicas {
		text += fmt.Sprintf(" r%d=%d", i, r.replica.CommitMin())
	}
	sc.trace.add(sc.sim.now, text)
}

// clientResult traces what a scripted client heard.
func (sc *script) clientResult(w *workloadClient, r *vsr.ClientResult) {
	name := sc.clientName(w.client.ID())
	switch {
	case r.Err != nil:
		sc.trace.add(sc.sim.now, fmt.Sprintf("%s: %v", name, r.Err))
	case r.Operation == vsr.OperationRegister:
		sc.trace.add(sc.sim.now, fmt.Sprintf("%s registered", name))
	case sc.loading:
		// A load's replies are summed up when it ends.
	default:
		label := sc.labels[scriptRequest{client: w.index, request: r.Request}]
		sc.trace.add(sc.sim.now, fmt.Sprintf("%s reply op=%d %s: %s", name, r.Op, label, replyText(r.Body)))
	}
}

// scriptRequest names a client's request.
type scriptRequest struct {
	client  int
	request uint32
}

// appliedOp is an op a replica executed, by the label its script gave it.
type appliedOp struct {
	op    uint64
	label string
}

// noteApplied records what replica i executed. An op at or below the
// last one recorded is a replay (after a restart, from its checkpoint):
// it replaces what the earlier incarnation recorded from there on.
func (sc *script) noteApplied(i int, e *vsr.Event) string {
	label := "?"
	if k, ok := sc.sim.clientOf[e.Client]; ok {
		if l, ok := sc.labels[scriptRequest{client: k, request: e.Request}]; ok {
			label = l
		}
	}
	list := sc.applied[i]
	cut := slices.IndexFunc(list, func(a appliedOp) bool { return a.op >= e.Op })
	if cut >= 0 {
		list = list[:cut]
	}
	sc.applied[i] = append(list, appliedOp{op: e.Op, label: label})
	return label
}
