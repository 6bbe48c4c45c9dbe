package vsr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// This file is a small deterministic test network for the replica core:
// replicas, clients, a FIFO message queue with scripted drops and
// partitions, and storage whose completions the test releases. The full
// simulator (vopr) has latency and faults; here each step is explicit.

var testCluster = U128{Lo: 0xc1, Hi: 0x05}

// splitMix is the tests' Random: deterministic, seeded, no global state.
type splitMix struct{ state uint64 }

func (s *splitMix) Uint64() uint64 {
	s.state += 0x9e3779b97f4a7c15
	z := s.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// testMachine is a state machine that folds every input into a running
// checksum and echoes "op:input" back, so replies show what executed where.
type testMachine struct {
	digest  U128
	applied []string // "op:input" in execution order
	lastOp  uint64
}

func (m *testMachine) InputValid(operation Operation, input []byte) error {
	if strings.HasPrefix(string(input), "bad") {
		return errors.New("test machine: input starts with bad")
	}
	return nil
}

func (m *testMachine) Apply(op, timestamp uint64, operation Operation, input, output []byte) int {
	if op < m.lastOp {
		panic("test machine: ops out of order")
	}
	m.lastOp = op
	entry := fmt.Sprintf("%d:%s", op, input)
	m.applied = append(m.applied, entry)
	var b []byte
	b = binary.LittleEndian.AppendUint64(b, m.digest.Lo)
	b = binary.LittleEndian.AppendUint64(b, m.digest.Hi)
	m.digest = Checksum(append(b, entry...))
	return copy(output, entry)
}

func (m *testMachine) Digest() U128 { return m.digest }

// The test machine's snapshot is its digest, last op and applied list, so
// that a checkpoint restores everything the tests compare.
func (m *testMachine) AppendSnapshot(dst []byte) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, m.digest.Lo)
	dst = binary.LittleEndian.AppendUint64(dst, m.digest.Hi)
	dst = binary.LittleEndian.AppendUint64(dst, m.lastOp)
	return append(dst, strings.Join(m.applied, "\n")...)
}

func (m *testMachine) Restore(b []byte) error {
	if len(b) < 24 {
		return errors.New("test machine: snapshot too short")
	}
	m.digest = U128{Lo: binary.LittleEndian.Uint64(b), Hi: binary.LittleEndian.Uint64(b[8:])}
	m.lastOp = binary.LittleEndian.Uint64(b[16:])
	m.applied = nil
	if len(b) > 24 {
		m.applied = strings.Split(string(b[24:]), "\n")
	}
	return nil
}

func (m *testMachine) SnapshotSizeMax() int { return 1 << 20 }

type endpoint struct {
	replica int // -1 for a client
	client  U128
}

func (e endpoint) String() string {
	if e.replica >= 0 {
		return fmt.Sprintf("r%d", e.replica)
	}
	return fmt.Sprintf("c%d", e.client.Lo)
}

type packet struct {
	from, to endpoint
	data     []byte
	header   Header // decoded for filters and logs
}

func (p packet) String() string {
	return fmt.Sprintf("%s→%s %s v%d op%d commit%d", p.from, p.to, p.header.Command, p.header.View, p.header.Op, p.header.Commit)
}

// testBus is one endpoint's Bus: it queues copies on the network.
type testBus struct {
	net  *testNet
	from endpoint
}

func (b *testBus) SendToReplica(replica uint8, message []byte) {
	b.net.enqueue(b.from, endpoint{replica: int(replica)}, message)
}

func (b *testBus) SendToClient(client U128, message []byte) {
	b.net.enqueue(b.from, endpoint{replica: -1, client: client}, message)
}

// testStorage is a MemoryStorage whose I/O completes in submission order
// when the network releases it (or the test holds it back).
type testStorage struct {
	*MemoryStorage
	ids  []uint64 // in flight, oldest first
	hold bool
	log  []recordedWrite // every write submitted, in order
}

type recordedWrite struct {
	offset uint64
	data   []byte
}

func (s *testStorage) Write(offset uint64, data []byte, tag uint64) {
	s.log = append(s.log, recordedWrite{offset: offset, data: slices.Clone(data)})
	s.MemoryStorage.Write(offset, data, tag)
}

func newTestStorage(o Options, seed uint64) *testStorage {
	s := &testStorage{MemoryStorage: NewMemoryStorage(&splitMix{state: seed}, MemoryFaults{})}
	s.OnSubmit = func(id uint64) { s.ids = append(s.ids, id) }
	sectors, err := FormatDataFile(o)
	if err != nil {
		panic(err)
	}
	s.Load(sectors)
	return s
}

type testNet struct {
	t        testing.TB
	replicas []*Replica
	machines []*testMachine
	storages []*testStorage
	clients  []*Client
	results  map[U128][]ClientResult
	queue    []packet
	// drop, if set, decides per packet; partitioned replicas exchange no
	// messages with anyone.
	drop        func(p *packet) bool
	partitioned [ReplicasMax]bool
	down        [ReplicasMax]bool // crashed, not yet restarted
	options     []Options
	onIO        func(replica int) // called after each storage completion, if set
	events      []Event
	sent        []string // every packet enqueued, for digests and debugging
	sentPackets []packet // the same, whole, for tests that replay one
	digest      U128
	buffers     []*Buffers // per replica, if the test lends buffers (buffers_test.go)
}

// newTestNet builds a cluster of n replicas with options adjusted by tune.
func newTestNet(t testing.TB, n int, tune func(o *Options)) *testNet {
	return buildTestNet(&testNet{t: t, results: map[U128][]ClientResult{}}, n, tune)
}

func buildTestNet(net *testNet, n int, tune func(o *Options)) *testNet {
	t := net.t
	for i := range n {
		o := DefaultOptions(testCluster, uint8(i), uint8(n))
		o.MessageSizeMax = 8 << 10
		o.JournalSlots = 64
		if tune != nil {
			tune(&o)
		}
		m := &testMachine{}
		s := newTestStorage(o, uint64(i)+100)
		r, err := NewReplica(o, net.env(i, s, m, 0))
		if err != nil {
			t.Fatal(err)
		}
		net.replicas, net.machines, net.storages = append(net.replicas, r), append(net.machines, m), append(net.storages, s)
		net.options = append(net.options, o)
	}
	return net
}

func (net *testNet) env(i int, s *testStorage, m *testMachine, incarnation uint64) Env {
	return Env{Bus: &testBus{net: net, from: endpoint{replica: i}}, Storage: s, StateMachine: m,
		Random: &splitMix{state: uint64(i) + 1 + incarnation*1000},
		Hook:   func(e *Event) { net.events = append(net.events, *e) }, Buffers: net.buffersOf(i)}
}

func (net *testNet) buffersOf(i int) *Buffers {
	if i < len(net.buffers) {
		return net.buffers[i]
	}
	return nil
}

// crash stops replica i as a power loss would: its writes in flight land
// torn, whole or not at all, and it hears nothing until restart.
func (net *testNet) crash(i int) {
	net.down[i] = true
	net.storages[i].Crash()
	net.storages[i].ids = nil
}

// restart opens replica i from its data file with a fresh state machine
// and runs until the open completes.
func (net *testNet) restart(i int) {
	net.t.Helper()
	if !net.down[i] {
		net.t.Fatalf("restart of r%d, which is up", i)
	}
	m := &testMachine{}
	if b := net.buffersOf(i); b != nil {
		reclaimDirty(b)
	}
	r, err := OpenReplica(net.options[i], net.env(i, net.storages[i], m, uint64(net.restarts(i)+1)))
	if err != nil {
		net.t.Fatal(err)
	}
	net.replicas[i], net.machines[i], net.down[i] = r, m, false
	net.completeIO()
	if err := r.OpenError(); err != nil {
		net.t.Fatalf("r%d: %v", i, err)
	}
	if r.Opening() {
		net.t.Fatalf("r%d still opening after its reads completed", i)
	}
}

func (net *testNet) restarts(i int) int {
	n := 0
	for _, e := range net.events {
		if e.Kind == EventOpened && int(e.Replica) == i {
			n++
		}
	}
	return n
}

func (net *testNet) addClient(id uint64) *Client {
	cid := U128{Lo: id}
	c, err := NewClient(ClientOptions{Cluster: testCluster, ID: cid, ReplicaCount: uint8(len(net.replicas)),
		MessageSizeMax: net.replicas[0].opts.MessageSizeMax},
		&testBus{net: net, from: endpoint{replica: -1, client: cid}}, &splitMix{state: id * 7919},
		func(r *ClientResult) {
			res := *r
			res.Body = slices.Clone(r.Body)
			net.results[cid] = append(net.results[cid], res)
		})
	if err != nil {
		net.t.Fatal(err)
	}
	net.clients = append(net.clients, c)
	return c
}

func (net *testNet) enqueue(from, to endpoint, message []byte) {
	h, _, err := Decode(message, MessageSizeMaxLimit)
	if err != nil {
		net.t.Fatalf("%s sent an invalid message: %v", from, err)
	}
	p := packet{from: from, to: to, data: slices.Clone(message), header: h}
	net.sent = append(net.sent, p.String())
	net.sentPackets = append(net.sentPackets, p)
	var b [32]byte
	putU128(b[:], net.digest)
	putU128(b[16:], h.Checksum)
	net.digest = Checksum(b[:])
	net.queue = append(net.queue, p)
}

func (net *testNet) blocked(p *packet) bool {
	if p.from.replica >= 0 && net.partitioned[p.from.replica] || p.to.replica >= 0 && net.partitioned[p.to.replica] {
		return true
	}
	return net.drop != nil && net.drop(p)
}

// step delivers the oldest queued packet (or drops it) and then every
// storage completion not held back. It reports whether there was a packet.
func (net *testNet) step() bool {
	net.completeIO()
	if len(net.queue) == 0 {
		return false
	}
	p := net.queue[0]
	net.queue = net.queue[1:]
	if !net.blocked(&p) {
		if p.to.replica >= 0 {
			if !net.down[p.to.replica] {
				net.replicas[p.to.replica].Receive(p.data)
			}
		} else {
			for _, c := range net.clients {
				if c.ID() == p.to.client {
					c.Receive(p.data)
				}
			}
		}
	}
	net.completeIO()
	return true
}

func (net *testNet) completeIO() {
	for i, s := range net.storages {
		for !s.hold && len(s.ids) > 0 && !net.down[i] {
			id := s.ids[0]
			s.ids = s.ids[1:]
			if tag, err, ok := s.Complete(id); ok {
				net.replicas[i].StorageDone(tag, err)
				if net.onIO != nil {
					net.onIO(i)
				}
			}
		}
	}
}

// deliver runs steps until the network is quiet; it fails the test if it
// never is.
func (net *testNet) deliver() {
	for range 100_000 {
		if !net.step() {
			return
		}
	}
	net.t.Fatal("network never went quiet")
}

// tick advances every replica and client by n ticks, delivering all
// traffic after each.
func (net *testNet) tick(n int) {
	for range n {
		for i, r := range net.replicas {
			if !net.down[i] {
				r.Tick()
			}
		}
		for _, c := range net.clients {
			c.Tick()
		}
		net.deliver()
	}
}

// run ticks until done() holds, failing after limit ticks.
func (net *testNet) run(limit int, what string, done func() bool) {
	net.t.Helper()
	for range limit {
		if done() {
			return
		}
		net.tick(1)
	}
	if !done() {
		net.t.Fatalf("%s: not reached within %d ticks\n%s", what, limit, net.describe())
	}
}

func (net *testNet) describe() string {
	var b strings.Builder
	for i, r := range net.replicas {
		fmt.Fprintf(&b, "r%d: %s view=%d log_view=%d op=%d commit_min=%d commit_max=%d primary=%v partitioned=%v\n",
			i, r.status, r.view, r.logView, r.op, r.commitMin, r.commitMax, r.IsPrimary(), net.partitioned[i])
	}
	return b.String()
}

// register registers client c and runs until the reply arrives.
func (net *testNet) register(c *Client) {
	net.t.Helper()
	if err := c.Register(); err != nil {
		net.t.Fatal(err)
	}
	net.run(2000, "register", func() bool { return c.Registered() })
}

// submit sends one request and runs until it completes; it returns the reply body.
func (net *testNet) submit(c *Client, input string) string {
	net.t.Helper()
	before := len(net.results[c.ID()])
	if _, err := c.Submit(OperationUserMin, []byte(input)); err != nil {
		net.t.Fatal(err)
	}
	net.run(3000, "request "+input, func() bool { return len(net.results[c.ID()]) > before })
	res := net.results[c.ID()][len(net.results[c.ID()])-1]
	if res.Err != nil {
		net.t.Fatalf("request %q failed: %v", input, res.Err)
	}
	return string(res.Body)
}

// applied returns what replica i executed, in order.
func (net *testNet) applied(i int) []string { return net.machines[i].applied }

// executions counts how many times replica i executed a request of input.
func (net *testNet) executions(i int, input string) int {
	n := 0
	for _, a := range net.applied(i) {
		if strings.HasSuffix(a, ":"+input) {
			n++
		}
	}
	return n
}

// eventCount counts events of kind (at replica i, or any if i < 0).
func (net *testNet) eventCount(kind EventKind, i int) int {
	n := 0
	for _, e := range net.events {
		if e.Kind == kind && (i < 0 || int(e.Replica) == i) {
			n++
		}
	}
	return n
}

// checkAgreement asserts that every replica executed a prefix of the same
// history and that replicas at equal commit have equal digests.
func (net *testNet) checkAgreement() {
	net.t.Helper()
	longest := 0
	for i := range net.replicas {
		if len(net.applied(i)) > len(net.applied(longest)) {
			longest = i
		}
	}
	for i, r := range net.replicas {
		a := net.applied(i)
		if !slices.Equal(a, net.applied(longest)[:len(a)]) {
			net.t.Fatalf("r%d executed %v, diverging from r%d's %v", i, a, longest, net.applied(longest))
		}
		for j, o := range net.replicas {
			if r.commitMin == o.commitMin && r.Digest() != o.Digest() {
				net.t.Fatalf("r%d and r%d at commit %d have digests %s and %s", i, j, r.commitMin, r.Digest(), o.Digest())
			}
		}
	}
	if v := net.eventCount(EventViolation, -1); v > 0 {
		for _, e := range net.events {
			if e.Kind == EventViolation {
				net.t.Fatalf("protocol violation at r%d: %s", e.Replica, e.Reason)
			}
		}
	}
}

func TestClusterBasic(t *testing.T) {
	for n := 1; n <= ReplicasMax; n++ {
		t.Run(fmt.Sprintf("replicas=%d", n), func(t *testing.T) {
			net := newTestNet(t, n, nil)
			c := net.addClient(1)
			net.register(c)
			for i := range 5 {
				got := net.submit(c, fmt.Sprintf("x%d", i))
				if !strings.HasSuffix(got, fmt.Sprintf(":x%d", i)) {
					t.Fatalf("reply %q", got)
				}
			}
			net.tick(30) // heartbeats carry the commit to every backup
			for i := range net.replicas {
				if got := len(net.applied(i)); got != 5 {
					t.Errorf("r%d executed %d requests, want 5: %v", i, got, net.applied(i))
				}
			}
			net.checkAgreement()
		})
	}
}
