package vopr

import (
	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// network is the simulated network. Nodes 0..replicas-1 are replicas, the
// rest clients. Every message is copied on send and delivered after a
// latency of minimum + exponential, so messages reorder; on the way it may
// be lost, duplicated or have one bit flipped. Partitions and clogs block
// replica-to-replica links; each link holds a bounded number of messages.
type network struct {
	sim      networkSim
	chaos    networkChaos // the chaos scenarios, set once they are built (NewIn)
	promises sendWatcher  // the promises checker, set once it is built (NewIn)
	stats    *NetworkStats
	sizeMax  uint32 // the largest message: the size of a fresh buffer
	rng      *faults.PRNG
	opts     *NetworkOptions
	replicas int
	nodes    int

	inFlight    []int    // per link (from*nodes+to): messages on the wire
	blocked     []bool   // per link: partitioned
	clogged     []uint64 // per link: clogged until this time (ns)
	partitioned bool
	faultsOff   bool // the liveness phase: no more loss, duplication, corruption

	// free holds message buffers back from delivered messages, so a long
	// run reuses them instead of allocating one per send. It never holds
	// more than the messages that were in flight at once.
	free [][]byte
}

// NetworkStats counts what the network did.
type NetworkStats struct {
	Sent, Delivered, Dropped, Duplicated, Corrupted uint64
	DroppedPartition, DroppedCapacity               uint64
	Partitions, Clogs                               uint64
}

// networkSim is all the network asks of the simulator: the time, the event
// queue, the log, which node a client id is, and to note each request a
// client sends (for the canonical-chain checker).
type networkSim interface {
	clock
	scheduler
	logger
	clientNode(id vsr.U128) int
	recordRequest(message []byte, last *sentRequest)
	scriptDrops(from, to int, message []byte) bool
}

// scriptDrops reports whether a running scenario script drops this message.
func (s *Simulator) scriptDrops(from, to int, message []byte) bool {
	return s.script != nil && s.script.drop(from, to, message)
}

// networkChaos is what the network asks of the chaos scenarios: whether
// they want a quiet network, a long delay for a message, the clients'
// side of a partition, and whether an aimed fault cuts a replica's message.
type networkChaos interface {
	networkQuiet() bool
	longDelay(from, to int, message []byte) (uint64, bool)
	partitionClients(side []bool, asymmetric bool)
	onPartition(side []bool)
	observe(from, to int, message []byte) bool
}

// sendWatcher sees every message a replica sends to a peer (the promises
// checker).
type sendWatcher interface {
	onSend(from int, message []byte)
}

func newNetwork(sim networkSim, stats *NetworkStats, sizeMax uint32, rng *faults.PRNG, opts *NetworkOptions, replicas, clients int) *network {
	nodes := replicas + clients
	return &network{sim: sim, stats: stats, sizeMax: sizeMax, rng: rng, opts: opts, replicas: replicas, nodes: nodes,
		inFlight: make([]int, nodes*nodes), blocked: make([]bool, nodes*nodes), clogged: make([]uint64, nodes*nodes)}
}

func (n *network) link(from, to int) int { return from*n.nodes + to }

// quiet reports whether the network injects no new faults now: in the
// liveness phase, and while a chaos scenario wants a clean network.
func (n *network) quiet() bool { return n.faultsOff || n.chaos.networkQuiet() }

// cut reports whether the link from → to passes nothing now.
func (n *network) cut(from, to int) bool {
	l := n.link(from, to)
	return n.blocked[l] || n.clogged[l] > n.sim.nowNs()
}

// send puts a copy of message on the wire from → to.
func (n *network) send(from, to int, message []byte) {
	st := n.stats
	st.Sent++
	if from == to {
		panic("vopr: a node sent a message to itself")
	}
	l := n.link(from, to)
	loss := n.rng.Chance(n.opts.Loss)
	duplicate := n.rng.Chance(n.opts.Duplicate)
	switch {
	case n.sim.scriptDrops(from, to, message):
		st.Dropped++
		return
	case n.cut(from, to):
		st.Dropped++
		st.DroppedPartition++
		return
	case n.inFlight[l] >= n.opts.LinkCapacity:
		st.Dropped++
		st.DroppedCapacity++
		return
	case loss && !n.quiet():
		st.Dropped++
		return
	}
	copies := 1
	if duplicate && !n.quiet() {
		copies = 2
		st.Duplicated++
	}
	for range copies {
		data := n.buffer(message)
		if n.rng.Chance(n.opts.Corrupt) && !n.quiet() {
			bit := n.rng.Uint64N(uint64(len(data)) * 8)
			data[bit/8] ^= 1 << (bit % 8)
			st.Corrupted++
		}
		at := n.sim.nowNs() + n.opts.LatencyNsMin + n.rng.Exponential(n.opts.LatencyNsMean)
		var sentNs uint64 // tag of a long-delayed message: its send time + 1
		if delayNs, ok := n.chaos.longDelay(from, to, message); ok {
			at, sentNs = at+delayNs, n.sim.nowNs()+1
		}
		n.inFlight[l]++
		n.sim.schedule(event{at: at, kind: eventDeliver, a: from, b: to, tag: sentNs, data: data})
	}
}

// buffer returns a copy of message in a recycled buffer if there is one.
func (n *network) buffer(message []byte) []byte {
	if k := len(n.free); k > 0 {
		b := n.free[k-1]
		n.free = n.free[:k-1]
		if cap(b) >= len(message) {
			return append(b[:0], message...)
		}
	}
	b := make([]byte, len(message), max(len(message), int(n.sizeMax)))
	copy(b, message)
	return b
}

// recycle takes back a delivered (or dropped) message's buffer.
func (n *network) recycle(data []byte) {
	n.free = append(n.free, data)
}

// arrive takes a message off the wire; it reports whether it gets through.
func (n *network) arrive(from, to int) bool {
	l := n.link(from, to)
	if n.inFlight[l] <= 0 {
		panic("vopr: a message arrived on an empty link")
	}
	n.inFlight[l]--
	if n.cut(from, to) {
		n.stats.Dropped++
		n.stats.DroppedPartition++
		return false
	}
	n.stats.Delivered++
	return true
}

// step starts or heals a partition and clogs links; it runs every 100 ms.
// It draws the same numbers whatever the current state, so one fault's
// timing never shifts another's.
func (n *network) step() {
	start := n.rng.Chance(n.opts.Partition)
	heal := n.rng.Chance(n.opts.Heal)
	mode := n.rng.Uint64()
	asymmetric := n.rng.Chance(n.opts.Asymmetric)
	switch {
	case n.quiet():
	case !n.partitioned && start && n.replicas > 1:
		n.startPartition(mode, asymmetric)
	case n.partitioned && heal:
		n.heal()
	}
	for from := range n.replicas {
		for to := range n.replicas {
			if from != to && n.rng.Chance(n.opts.Clog) && !n.quiet() {
				n.clogged[n.link(from, to)] = n.sim.nowNs() + n.rng.Exponential(n.opts.ClogNsMean)
				n.stats.Clogs++
			}
		}
	}
}

// startPartition splits the replicas: one isolated (even mode) or a random
// subset against the rest (odd mode); an asymmetric partition blocks only
// the messages from the first side to the second.
func (n *network) startPartition(mode uint64, asymmetric bool) {
	side := make([]bool, n.replicas)
	if mode%2 == 0 {
		side[(mode/2)%uint64(n.replicas)] = true
	} else {
		bits := mode / 2
		for i := range side {
			side[i] = bits&(1<<i) != 0
		}
		if !containsBoth(side) {
			side[0] = !side[0]
		}
	}
	for from := range n.replicas {
		for to := range n.replicas {
			if side[from] != side[to] && (!asymmetric || side[from]) {
				n.blocked[n.link(from, to)] = true
			}
		}
	}
	n.chaos.partitionClients(side, asymmetric)
	n.chaos.onPartition(side)
	n.partitioned = true
	n.stats.Partitions++
	n.sim.logf(logShort, "partition: side %v asymmetric=%v", side, asymmetric)
}

func containsBoth(side []bool) bool {
	t, f := false, false
	for _, s := range side {
		t, f = t || s, f || !s
	}
	return t && f
}

func (n *network) heal() {
	clear(n.blocked)
	n.partitioned = false
	n.sim.logf(logShort, "partition healed")
}

// stopFaults is the start of the liveness phase: the network stops
// losing, duplicating, corrupting, partitioning and clogging, and the links
// between healed nodes (healed[node]: the core's replicas and the clients)
// heal. A link to a replica left out of the core stays as it is.
func (n *network) stopFaults(healed []bool) {
	n.faultsOff = true
	all := true
	for from := range n.nodes {
		for to := range n.nodes {
			if l := n.link(from, to); healed[from] && healed[to] {
				n.blocked[l], n.clogged[l] = false, 0
			} else {
				all = false
			}
		}
	}
	if all {
		n.heal()
	}
}

// isolate cuts every link to and from node, for good (a replica left out
// of the liveness phase's core).
func (n *network) isolate(node int) {
	for other := range n.nodes {
		if other != node {
			n.blocked[n.link(node, other)] = true
			n.blocked[n.link(other, node)] = true
		}
	}
}

// replicaBus is a replica's vsr.Bus onto the network.
type replicaBus struct {
	net     *network
	node    int
	headers *headerMemo // the watchers' decoded sends, primed by Encoded
}

// Encoded primes the watchers' memo with the header of the message the
// replica is about to send (vsr.EncodedBus).
func (b *replicaBus) Encoded(h *vsr.Header, message []byte) { b.headers.prime(h, message) }

func (b *replicaBus) SendToReplica(replica uint8, message []byte) {
	b.net.promises.onSend(b.node, message)
	if b.net.chaos.observe(b.node, int(replica), message) {
		return // an aimed fault cut this copy
	}
	b.net.send(b.node, int(replica), message)
}

func (b *replicaBus) SendToClient(client vsr.U128, message []byte) {
	node := b.net.sim.clientNode(client)
	if node < 0 {
		return // a client id no simulated client has: nobody to deliver to
	}
	b.net.send(b.node, node, message)
}

// clientBus is a client's vsr.Bus onto the network.
type clientBus struct {
	net  *network
	node int
	last sentRequest // the latest request this client sent
}

func (b *clientBus) SendToReplica(replica uint8, message []byte) {
	b.net.sim.recordRequest(message, &b.last)
	b.net.send(b.node, int(replica), message)
}

func (b *clientBus) SendToClient(vsr.U128, []byte) {
	panic("vopr: a client sent to a client")
}
