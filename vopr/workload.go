package vopr

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/kv"
)

// opKind is a workload operation on the key-value store.
type opKind uint8

const (
	opRead opKind = iota + 1
	opWrite
	opCAS
	opKindCount // one past the last
)

// opOperations is the kv operation of each kind.
var opOperations = [opKindCount]vsr.Operation{opRead: kv.OperationRead, opWrite: kv.OperationWrite, opCAS: kv.OperationCAS}

// historyOp is one client operation as the clients saw it, in simulated
// time, for the linearizability checker.
type historyOp struct {
	client int
	kind   opKind
	key    string
	value  string // write: the value; cas: the new value
	from   string // cas: the expected value
	callNs uint64
	retNs  uint64
	// unknown: no reply (still in flight at the end, or evicted): the op
	// may or may not have taken effect.
	unknown bool
	status  kv.Status
	output  string   // read or cas mismatch: the value returned
	request vsr.U128 // the request's checksum: found in the canonical history if it committed
}

// workloadClient is one simulated client: it registers, then issues reads,
// writes and compare-and-sets over a small skewed key set, one at a time,
// with a think time between them.
type workloadClient struct {
	sim     workloadSim
	opts    *Options
	index   int
	client  *vsr.Client
	rng     *faults.PRNG
	pending int  // index in the history of the op in flight, -1 if none
	waiting bool // a think-time eventClientGo is scheduled
	ticking bool // an eventClientTick is scheduled
	stopped bool // liveness phase: issue nothing new
	// scripted: a scenario script (scenario.go) says what the client
	// sends and when; it issues nothing by itself.
	scripted bool
	writes   int
	// lastRequest is the checksum of the latest request this client sent,
	// so a reply can be checked against the canonical history.
	lastRequest vsr.U128
	// input is the encoded input of the op being issued, reused from one
	// op to the next (Submit copies it into the request).
	input []byte
}

// workloadSim is all a client asks of the simulator: the time, the event
// queue, the failure sink, and the history the checkers read (an op
// recorded, an op's outcome, a result to check).
type workloadSim interface {
	clock
	scheduler
	scheduleClientTick(client int, at uint64) // schedule(event{at: at, kind: eventClientTick, a: client}), cheaper
	verdicts
	recordOp(op historyOp) int
	opAt(i int) *historyOp
	countOutcome(evicted bool)
	clientResult(w *workloadClient, r *vsr.ClientResult)
	scriptResult(w *workloadClient, r *vsr.ClientResult)
}

// historyCapMax bounds the history's first allocation (some 130 bytes an op).
const historyCapMax = 1 << 15

// recordOp records an op a client issued in the history and returns its
// index.
func (s *Simulator) recordOp(op historyOp) int {
	if s.check.history == nil {
		// Room for the requests the run asks for (bounded): growing the
		// history by doubling copies it again and again.
		s.check.history = make([]historyOp, 0, max(0, min(s.opts.RequestsMax+s.opts.Clients, historyCapMax)))
	}
	s.check.history = append(s.check.history, op)
	s.stats.Requests++
	return len(s.check.history) - 1
}

// opAt returns the history's op i.
func (s *Simulator) opAt(i int) *historyOp { return &s.check.history[i] }

// countOutcome counts how an op ended: evicted, or replied.
func (s *Simulator) countOutcome(evicted bool) {
	if evicted {
		s.stats.Evictions++
		return
	}
	s.replies++
	s.stats.Replies++
}

// clientResult hands a client's successful result to the checkers and the
// chaos scenarios.
func (s *Simulator) clientResult(w *workloadClient, r *vsr.ClientResult) {
	s.check.onReply(w, r)
	s.chaos.clientResult(w.index, r.Operation == vsr.OperationRegister)
}

// scriptResult tells a running scenario script of every result, errors too.
func (s *Simulator) scriptResult(w *workloadClient, r *vsr.ClientResult) {
	if s.script != nil {
		s.script.clientResult(w, r)
	}
}

func newWorkloadClient(s *Simulator, i int) (*workloadClient, error) {
	w := &workloadClient{sim: s, opts: &s.opts, index: i, rng: s.root.Stream(fmt.Sprintf("workload/client-%d", i)), pending: -1, waiting: true}
	id := vsr.U128{Lo: uint64(i) + 1, Hi: s.opts.Seed}
	c, err := vsr.NewClient(vsr.ClientOptions{Cluster: s.clusterID(), ID: id, ReplicaCount: uint8(s.opts.Replicas),
		MessageSizeMax: s.opts.MessageSizeMax},
		&clientBus{net: s.net, node: s.opts.Replicas + i}, s.root.Stream(fmt.Sprintf("client-%d", i)), w.onResult)
	if err != nil {
		return nil, err
	}
	w.client = c
	return w, nil
}

// idle reports whether the client has nothing in flight.
func (w *workloadClient) idle() bool { return w.pending < 0 && !w.client.Busy() }

// tick is the client's clock. An idle client's clock has nothing to time
// out, so its ticks stop until it sends again: the simulator skips the
// idle time instead of simulating it.
func (w *workloadClient) tick() {
	w.ticking = false
	if !w.client.Busy() {
		return
	}
	w.client.Tick()
	w.startTicking()
}

func (w *workloadClient) startTicking() {
	if !w.ticking {
		w.ticking = true
		w.sim.scheduleClientTick(w.index, w.sim.nowNs()+tickNs)
	}
}

// next is the end of the think time: register or issue the next op.
func (w *workloadClient) next() {
	w.waiting = false
	if w.stopped || w.scripted || w.client.Busy() {
		return
	}
	if !w.client.Registered() {
		if err := w.client.Register(); err != nil {
			panic("vopr: register: " + err.Error())
		}
		w.startTicking()
		return
	}
	w.issue(w.draw())
}

// issue submits op and enters it in the history; it returns the request
// number the client gave it.
func (w *workloadClient) issue(op historyOp) uint32 {
	input, err := w.encode(&op)
	if err != nil {
		panic("vopr: workload built an invalid request: " + err.Error())
	}
	operation := opOperations[op.kind]
	request, err := w.client.Submit(operation, input)
	if err != nil {
		panic("vopr: submit: " + err.Error())
	}
	w.startTicking()
	op.callNs = w.sim.nowNs()
	op.request = w.lastRequest
	w.pending = w.sim.recordOp(op)
	return request
}

// draw picks the next operation: kind by the workload's percentages, key
// skewed toward the first keys, values unique per write so that every read
// tells which write it saw.
func (w *workloadClient) draw() historyOp {
	o := &w.opts.Workload
	op := historyOp{client: w.index}
	roll := uint32(w.rng.Uint64N(100))
	key := w.rng.Skewed(o.Keys, o.KeySkew)
	op.key = w.opts.keyName(key)
	w.writes++
	value := w.opts.valueOf(w.index, w.writes)
	switch {
	case roll < o.ReadPercent:
		op.kind = opRead
	case roll < o.ReadPercent+o.WritePercent:
		op.kind, op.value = opWrite, value
	default:
		// Expect a value some client may have written to this key.
		other := w.rng.IntN(w.opts.Clients)
		n := 1 + w.rng.IntN(max(1, w.writes))
		op.kind, op.from, op.value = opCAS, w.opts.valueOf(other, n), value
	}
	return op
}

// encode encodes op's input into w.input and returns it.
func (w *workloadClient) encode(op *historyOp) ([]byte, error) {
	var err error
	switch op.kind {
	case opRead:
		w.input, err = kv.EncodeRead(w.input[:0], []byte(op.key))
	case opWrite:
		w.input, err = kv.EncodeWrite(w.input[:0], []byte(op.key), []byte(op.value))
	default:
		w.input, err = kv.EncodeCAS(w.input[:0], []byte(op.key), []byte(op.from), []byte(op.value))
	}
	return w.input, err
}

// onResult records a reply (or eviction) and schedules the next op.
func (w *workloadClient) onResult(r *vsr.ClientResult) {
	s := w.sim
	if r.Err == nil {
		s.clientResult(w, r)
	}
	s.scriptResult(w, r)
	if r.Operation != vsr.OperationRegister && w.pending >= 0 {
		op := s.opAt(w.pending)
		op.retNs = s.nowNs()
		switch {
		case errors.Is(r.Err, vsr.ErrEvicted):
			op.unknown = true
			s.countOutcome(true)
		case r.Err != nil:
			s.fail(Correctness, fmt.Sprintf("client %d: request failed: %v", w.index, r.Err))
		default:
			w.record(op, r.Body)
			s.countOutcome(false)
		}
		w.pending = -1
	}
	w.think()
}

func (w *workloadClient) record(op *historyOp, body []byte) {
	reply, err := kv.DecodeReply(body)
	if err != nil {
		w.sim.fail(Correctness, fmt.Sprintf("client %d: undecodable reply: %v", w.index, err))
		return
	}
	op.status, op.output = reply.Status, string(reply.Value)
	if reply.Status == kv.StatusInvalid || reply.Status == kv.StatusFull {
		w.sim.fail(Correctness, fmt.Sprintf("client %d: %s reply to a valid %v request", w.index, reply.Status, op.kind))
	}
}

func (w *workloadClient) think() {
	if w.waiting {
		return
	}
	w.waiting = true
	at := w.sim.nowNs() + w.rng.Exponential(w.opts.Workload.ThinkNsMean)
	w.sim.schedule(event{at: at, kind: eventClientGo, a: w.index})
}

// sentRequest is what recordRequest needs of a request a client sent.
type sentRequest struct {
	message  []byte   // a copy of its bytes
	checksum vsr.U128 // its header's checksum
	client   int      // the index of the client it names, or -1
}

// recordRequest notes a request a client sent: the canonical-chain checker
// accepts only committed requests some client really sent. last is the
// request the same client sent before: a client sends one request to
// several replicas in a row, and the same bytes decode the same, so only
// new bytes are decoded again.
func (s *Simulator) recordRequest(message []byte, last *sentRequest) {
	if last.message == nil || !bytes.Equal(message, last.message) {
		h, _, err := vsr.Decode(message, s.opts.MessageSizeMax)
		if err != nil || h.Command != vsr.CommandRequest {
			panic("vopr: a client sent an invalid request")
		}
		last.message, last.checksum, last.client = append(last.message[:0], message...), h.Checksum, -1
		if i, ok := s.clientOf[h.Client]; ok {
			last.client = i
		}
		s.chaos.tape(last.client, &h, message)
		// The set only grows: the same bytes again (a retry, the next
		// replica of a broadcast) were added when they were new.
		s.check.sent[last.checksum] = struct{}{}
	}
	if last.client >= 0 {
		s.clients[last.client].lastRequest = last.checksum
	}
}
