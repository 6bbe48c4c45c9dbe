package vopr

import (
	"slices"

	"github.com/govsr/govsr/vsr"
)

// The scenario's faults: each through the simulator's own mechanism
// (link blocks, process crash and restart, pause and resume, disk
// replacement, bit flips on the simulated disk), so that the checkers see
// them as they see the swarm's.

// execFaults runs a fault command; it reports whether cmd is one.
func (sc *script) execFaults(cmd string, args []string) bool {
	switch cmd {
	case "partition", "heal":
		sc.partition(cmd == "partition", args)
	case "drop":
		sc.drops = append(sc.drops, sc.dropRule(args))
	case "undrop":
		sc.drops = nil
	case "hold-io":
		sc.holding[sc.oneReplica(args)] = true
	case "release-io":
		sc.releaseIO(sc.oneReplica(args))
	case "crash", "restart", "rejoin":
		sc.process(cmd, sc.oneReplica(args))
	case "pause", "resume":
		sc.pause(cmd == "pause", sc.oneReplica(args))
	case "corrupt":
		sc.corrupt(args)
	case "capture":
		sc.capture(args)
	case "inject":
		sc.inject(args)
	default:
		return false
	}
	return true
}

func (sc *script) oneReplica(args []string) int {
	if len(args) != 1 {
		sc.fail("want one replica")
	}
	return sc.replica(args[0])
}

// partition cuts replicas off from every other node (or heals them; heal
// alone heals all): a link is blocked while either end is cut off.
func (sc *script) partition(cut bool, args []string) {
	if cut && len(args) == 0 {
		sc.fail("partition names replicas")
	}
	if !cut && len(args) == 0 {
		clear(sc.parted)
	}
	for _, a := range args {
		sc.parted[sc.replica(a)] = cut
	}
	n := sc.sim.net
	for from := range n.nodes {
		for to := range n.nodes {
			n.blocked[n.link(from, to)] = from < n.replicas && sc.parted[from] || to < n.replicas && sc.parted[to]
		}
	}
}

// dropRule drops the messages that match every filter it has.
type dropRule struct {
	command  vsr.Command
	from, to int // nodes, -1 for any
	op       int64
	client   int // client index, -1 for any
	left     int // how many more it drops, -1 for no end
}

func (sc *script) dropRule(args []string) dropRule {
	if len(args) == 0 {
		sc.fail("drop names a message command")
	}
	d := dropRule{command: commandAny, from: -1, to: -1, op: -1, client: -1, left: -1}
	if args[0] != "any" {
		d.command = sc.command(args[0])
	}
	for _, a := range sc.args(args[1:]) {
		switch a.key {
		case "from":
			d.from = sc.node(a.value)
		case "to":
			d.to = sc.node(a.value)
		case "op":
			d.op = int64(sc.num(a.value))
		case "client":
			d.client = sc.clientIndex(a.value, true)
		case "count":
			d.left = sc.num(a.value)
		default:
			sc.fail("unknown drop filter %q", a.key)
		}
	}
	return d
}

func (d *dropRule) matches(from, to, client int, h *vsr.Header) bool {
	return (d.command == commandAny || h.Command == d.command) && (d.from < 0 || d.from == from) && (d.to < 0 || d.to == to) &&
		(d.op < 0 || uint64(d.op) == h.Op) && (d.client < 0 || d.client == client)
}

// sentKey counts messages by command and sender, and names the latest
// one sent (register tells a client's registers from its other requests).
type sentKey struct {
	command  vsr.Command
	node     int
	register bool
}

// commandAny, in a drop rule, matches every command.
const commandAny vsr.Command = 0

// drop is the network's hook for every message sent: it counts it, keeps
// a copy of the latest of its kind (for capture), and reports whether a
// drop rule takes it.
func (sc *script) drop(from, to int, message []byte) bool {
	h, err := vsr.DecodeHeader(message)
	if err != nil {
		panic("vopr: a node sent a message whose header does not decode: " + err.Error())
	}
	sc.sent[sentKey{command: h.Command, node: from}]++
	client := -1
	if k, ok := sc.sim.clientOf[h.Client]; ok {
		client = k
	}
	key := sentKey{command: h.Command, node: from, register: h.Command == vsr.CommandRequest && h.Operation == vsr.OperationRegister}
	sc.latest[key] = append(sc.latest[key][:0], message...)
	for k := range sc.drops {
		if d := &sc.drops[k]; d.left != 0 && d.matches(from, to, client, &h) {
			d.left--
			return true
		}
	}
	return false
}

// holdIO is the simulator's hook for a storage completion: it holds it
// back while the script holds replica a's I/O.
func (sc *script) holdIO(e *event) bool {
	if !sc.holding[e.a] {
		return false
	}
	sc.heldIO[e.a] = append(sc.heldIO[e.a], *e)
	return true
}

// releaseIO lets replica i's completions through again, the held ones
// first, in the order they came.
func (sc *script) releaseIO(i int) {
	sc.holding[i] = false
	held := sc.heldIO[i]
	sc.heldIO[i] = nil
	for k := range held {
		sc.sim.storageDone(&held[k])
	}
}

// process crashes, restarts or replaces the disk of replica i.
func (sc *script) process(cmd string, i int) {
	r := sc.sim.replicas[i]
	switch {
	case cmd == "crash" && r.down, cmd == "restart" && !r.down:
		sc.fail("r%d is down=%v", i, r.down)
	case cmd == "crash" || cmd == "rejoin" && !r.down:
		sc.sim.crashNow(i)
		sc.heldIO[i] = nil // the crash tore them
	}
	if cmd == "rejoin" {
		sc.sim.formatRejoin(i)
	}
	if cmd != "crash" {
		sc.sim.restart(i)
	}
}

func (sc *script) pause(pause bool, i int) {
	r := sc.sim.replicas[i]
	if r.down || r.paused != !pause {
		sc.fail("r%d is down=%v paused=%v", i, r.down, r.paused)
	}
	if !pause {
		sc.sim.resume(i)
		return
	}
	r.paused, r.pausedAtNs = true, sc.sim.now
	sc.sim.stats.Pauses++
}

// corrupt flips a bit of op's prepare (in its body) or of its headers-ring
// copy, on replica I's disk: corrupt rI op=N prepare|header.
func (sc *script) corrupt(args []string) {
	if len(args) != 3 || !slices.Contains([]string{"prepare", "header"}, args[2]) {
		sc.fail("corrupt rI op=N prepare|header")
	}
	st := sc.sim.replicas[sc.replica(args[0])].storage
	a := sc.args(args[1:2])
	if a[0].key != "op" {
		sc.fail("corrupt names an op=N")
	}
	l := &st.layout
	slot := uint64(sc.num(a[0].value)) % l.JournalSlots
	if args[2] == "prepare" {
		st.FlipBit(l.PreparesOffset+slot*l.PrepareSlotSize, 8*vsr.HeaderSize+17)
		return
	}
	st.FlipBit(l.HeadersOffset, 8*(slot*vsr.HeaderSize+100))
}

// capture keeps a copy of the latest message of a command a node sent:
// capture NAME COMMAND from=N [register] (register: a client's latest
// register, not its latest other request).
func (sc *script) capture(args []string) {
	if len(args) < 3 || len(args) > 4 || len(args) == 4 && args[3] != "register" {
		sc.fail("capture NAME COMMAND from=N [register]")
	}
	a := sc.args(args[2:3])
	if a[0].key != "from" {
		sc.fail("capture names the sender: from=N")
	}
	key := sentKey{command: sc.command(args[1]), node: sc.node(a[0].value), register: len(args) == 4}
	m, ok := sc.latest[key]
	if !ok {
		sc.fail("%s sent no such %s yet", a[0].value, args[1])
	}
	sc.captured[args[0]] = capturedMessage{from: key.node, message: append([]byte(nil), m...)}
}

// capturedMessage is a message kept to be sent again later.
type capturedMessage struct {
	from    int
	message []byte
}

// inject sends a copy of a captured message from its sender again, now
// (as a copy held up in the network would arrive late): to one node, or
// to every replica but the sender. inject NAME [to=N].
func (sc *script) inject(args []string) {
	if len(args) < 1 || len(args) > 2 {
		sc.fail("inject NAME [to=N]")
	}
	m, ok := sc.captured[args[0]]
	if !ok {
		sc.fail("nothing captured as %s", args[0])
	}
	for _, a := range sc.args(args[1:]) {
		if a.key != "to" {
			sc.fail("unknown argument %q", a.key)
		}
		sc.sim.net.send(m.from, sc.node(a.value), m.message)
		return
	}
	for to := range sc.replicas {
		if to != m.from {
			sc.sim.net.send(m.from, to, m.message)
		}
	}
}
