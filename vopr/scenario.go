package vopr

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/govsr/govsr/vsr"
)

// Scenario scripts drive the simulator's own cluster (its network,
// storage, processes and every checker) step by step, the way etcd raft's
// data-driven tests drive raft: each line of a script is a command, and
// what the cluster did in answer is written to a trace, one line per
// event, that a test compares with a committed golden copy
// (testdata/scenarios/*.trace; `go test ./vopr -run TestScenarios
// -rewrite` writes them anew). Random faults are all off: a script's
// faults are the ones it names, so a script is one deterministic run.
//
// '#' starts a comment. Replicas are named rI (or I), clients by the
// number their `client` line gave them (cI where a node is meant).
//
//	cluster N [option=value...]   first line: N replicas; options below
//	client ID                     declare a client (before any other command)
//	register ID                   register it, running until the reply
//	submit ID VALUE [key=K]       write VALUE under K (default k); run until the reply
//	send ID VALUE [key=K]         the same write, without waiting
//	read ID [key=K]               read K, running until the reply
//	wait ID [limit=TICKS]         run until the client has no request in flight
//	partition rI...               cut replicas off from everyone; heal [rI...] (all if none)
//	drop COMMAND|any [from=N] [to=N] [op=N] [client=ID] [count=N]   drop matching messages
//	                              (the first N only, with count); undrop clears
//	hold-io rI / release-io rI    hold back a replica's storage completions, or release them
//	crash rI / restart rI         power loss (writes in flight tear) / reopen from its disk
//	rejoin rI                     replace its disk with one formatted --rejoin, and restart it
//	pause rI / resume rI          the process stops / goes on with what arrived meanwhile
//	corrupt rI op=N prepare|header   flip a bit of op's journal copy on replica I's disk
//	capture NAME COMMAND from=N [register]   keep the latest such message N sent
//	inject NAME [to=N]            send a copy of it again now (a late duplicate), to N or every replica
//	load ID... rounds=N           N rounds: each client writes once, then all replies are awaited
//	tick N                        run N ticks (10 ms each) of simulated time
//	deliver                       run until no message or storage I/O is in flight
//	until rI FIELD=VALUE... [limit=TICKS]   run until the replica matches
//	expect rI FIELD=VALUE...      status, view, log_view, op, commit_min, commit_max, primary,
//	                              down, paused, opening, journal_faulty, checkpoint, durable_view,
//	                              state_transfers, has_prepare:OP, nackable:OP
//	expect-applied rI VALUE...    the values of the requests replica I executed, in op order
//	expect-sent COMMAND [from=N] count=N|min=N   messages sent so far
//	check                         end: heal everything, run the liveness phase to convergence,
//	                              check linearizability (done at the end of every script anyway)
//
// Cluster options: pipeline, journal, clients_max, queue, message_size,
// seed, liveness (ticks) of the simulator; abdicate, primary_timeout,
// view_change_timeout, recovery_timeout, heartbeat, jitter, checkpoint
// (interval) of the replicas.
//
// The trace writes each command as "> command", then what followed it at
// its simulated time: a replica's status changes, opens, executions
// (by the value the script wrote), checkpoints, state transfers,
// evictions, violations and coverage marks, and what each client heard.
// Messages and disk I/O are not traced: they are many, and what they did
// shows in those lines. A failing checker fails the script at once.

// RunScenario runs the script text (named name in messages) with the
// deliberate bug (Options.Bug; "" for none) and returns its trace. The
// error says which command failed, or which checker, with the trace so
// far still returned.
func RunScenario(name string, text []byte, bug string) (trace string, err error) {
	sc := &script{name: name, bug: bug, seed: 1}
	err = sc.run(text)
	return sc.trace.String(), err
}

// scriptLinesMax bounds a script.
const scriptLinesMax = 10_000

// script is one scenario run.
type script struct {
	name string
	bug  string
	line string // "name:N: command", for messages
	done bool   // check ran: the run is over
	// loading: a load runs; its executions and replies are not traced one
	// by one.
	loading bool

	// Gathered from the cluster and client lines, before the build.
	replicas    int
	clientNames []string
	seed        uint64
	simTune     []option // simulator options
	replicaTune []option // vsr options

	sim        *Simulator
	parted     []bool    // per replica: cut off from everyone
	holding    []bool    // per replica: storage completions held back
	heldIO     [][]event // per replica: the completions held back, in order
	drops      []dropRule
	sent       map[sentKey]int
	latest     map[sentKey][]byte // (client node, register or request): its latest message
	captured   map[string]capturedMessage
	durable    []uint32 // per replica: the view its superblock made durable last
	checkpoint []uint64 // per replica: the op of its latest durable checkpoint
	labels     map[scriptRequest]string
	applied    [][]appliedOp // per replica, in op order
	trace      traceWriter
}

type option struct {
	key   string
	value int
}

// scriptFailure is how a command stops the script; run recovers it.
type scriptFailure struct{ message string }

func (sc *script) run(text []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = sc.recovered(p)
		}
	}()
	scanner := bufio.NewScanner(bytes.NewReader(text))
	for n := 1; scanner.Scan(); n++ {
		if n > scriptLinesMax {
			sc.fail("a script has at most %d lines", scriptLinesMax)
		}
		line, _, _ := strings.Cut(scanner.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		sc.line = fmt.Sprintf("%s:%d: %s", sc.name, n, line)
		sc.exec(strings.Fields(line))
	}
	if sc.sim == nil {
		sc.fail("the script builds no cluster (no command after cluster and client)")
	}
	if !sc.done {
		sc.line = sc.name + ": end"
		sc.check()
	}
	return nil
}

// recovered turns a panic into the script's error: a command's failure,
// or a panic inside the simulated system (the simulator's Crash verdict).
func (sc *script) recovered(p any) error {
	if f, ok := p.(scriptFailure); ok {
		return fmt.Errorf("%s\n%s", sc.line, f.message)
	}
	if sc.sim == nil {
		return fmt.Errorf("%s\npanic: %v", sc.line, p)
	}
	res := sc.sim.crashed(p)
	return fmt.Errorf("%s\n%s: %s", sc.line, res.Class, res.Message)
}

// fail stops the script with a message naming the command, and the state
// of the cluster.
func (sc *script) fail(format string, args ...any) {
	message := fmt.Sprintf(format, args...)
	if sc.sim != nil {
		message += "\n" + sc.sim.describe()
	}
	panic(scriptFailure{message: message})
}

func (sc *script) exec(f []string) {
	cmd, args := f[0], f[1:]
	switch {
	case cmd == "cluster":
		sc.cluster(args)
		return
	case sc.replicas == 0:
		sc.fail("the first command must be cluster")
	case cmd == "client":
		sc.declareClient(args)
		return
	case sc.done:
		sc.fail("nothing may follow check")
	case sc.sim == nil:
		sc.build()
	}
	if len(args) < argumentsMin[cmd] {
		sc.fail("too few arguments for %s (at least %d)", cmd, argumentsMin[cmd])
	}
	sc.trace.command(sc.sim.now, strings.Join(f, " "))
	if !sc.execClients(cmd, args) && !sc.execFaults(cmd, args) && !sc.execChecks(cmd, args) {
		sc.fail("unknown command %q", cmd)
	}
	sc.trace.flush()
	if sc.sim.failure != nil {
		sc.fail("%s: %s", sc.sim.failure.Class, sc.sim.failure.Message)
	}
}

// argumentsMin is how many arguments a command takes at least (none if
// not listed).
var argumentsMin = map[string]int{
	"register": 1, "submit": 2, "send": 2, "read": 1, "load": 2, "wait": 1, "partition": 1, "drop": 1,
	"hold-io": 1, "release-io": 1, "crash": 1, "restart": 1, "rejoin": 1, "pause": 1, "resume": 1,
	"corrupt": 3, "capture": 3, "inject": 1, "tick": 1, "until": 2, "expect": 2, "expect-applied": 1,
	"expect-sent": 2,
}

func (sc *script) cluster(args []string) {
	if sc.replicas != 0 || len(args) == 0 {
		sc.fail("cluster comes once, first, with a replica count")
	}
	sc.replicas = sc.num(args[0])
	if sc.replicas < 1 || sc.replicas > vsr.ReplicasMax {
		sc.fail("replica count %d outside [1, %d]", sc.replicas, vsr.ReplicasMax)
	}
	for _, a := range args[1:] {
		k, v := sc.pair(a)
		_, simulator := scenarioOptionsSim[k]
		_, replica := scenarioOptionsReplica[k]
		switch {
		case simulator:
			sc.simTune = append(sc.simTune, option{k, sc.num(v)})
		case replica:
			sc.replicaTune = append(sc.replicaTune, option{k, sc.num(v)})
		default:
			sc.fail("unknown cluster option %q", k)
		}
	}
}

func (sc *script) declareClient(args []string) {
	if sc.sim != nil || len(args) != 1 {
		sc.fail("client ID comes before any command that runs the cluster")
	}
	if sc.clientIndex(args[0], false) >= 0 {
		sc.fail("client %s declared twice", args[0])
	}
	sc.clientNames = append(sc.clientNames, args[0])
}

// pair splits key=value.
func (sc *script) pair(a string) (string, string) {
	k, v, ok := strings.Cut(a, "=")
	if !ok {
		sc.fail("argument %q is not key=value", a)
	}
	return k, v
}

// pairs parses key=value arguments; a key may come once.
func (sc *script) pairs(args []string) map[string]string {
	m := make(map[string]string, len(args))
	for _, a := range args {
		k, v := sc.pair(a)
		if _, ok := m[k]; ok {
			sc.fail("%s given twice", k)
		}
		m[k] = v
	}
	return m
}

func (sc *script) num(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		sc.fail("%q is not a number", v)
	}
	return n
}

// replica parses rI or I.
func (sc *script) replica(arg string) int {
	i := sc.num(strings.TrimPrefix(arg, "r"))
	if i >= sc.replicas {
		sc.fail("no replica %s", arg)
	}
	return i
}

// clientIndex returns the index of the client named id, or -1 (or fails,
// with must).
func (sc *script) clientIndex(id string, must bool) int {
	for i, name := range sc.clientNames {
		if name == id {
			return i
		}
	}
	if must {
		sc.fail("no client %s", id)
	}
	return -1
}

// node parses a network node: rI or I a replica, cID a client.
func (sc *script) node(arg string) int {
	if id, ok := strings.CutPrefix(arg, "c"); ok {
		return sc.replicas + sc.clientIndex(id, true)
	}
	return sc.replica(arg)
}

// command parses a message command by its name.
func (sc *script) command(name string) vsr.Command {
	for c := vsr.Command(1); c < 64; c++ {
		if c.String() == name {
			return c
		}
	}
	sc.fail("unknown message command %q", name)
	return 0
}
