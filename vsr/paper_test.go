package vsr

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Tests named TestPaper... each check one claim of "Viewstamped Replication
// Revisited" (Liskov & Cowling, 2012) as this implementation makes it, in
// the manner of etcd raft's paper tests
// (https://github.com/etcd-io/raft/blob/main/raft_paper_test.go). Section
// numbers refer to the paper. Claims a scenario script states as well are
// scripts, run on the simulator with every checker on
// (vopr/testdata/scenarios/paper_*.txt).

// dropCommand drops every packet of command c (from replica from, or any if
// from < 0).
func dropCommand(c Command, from int) func(p *packet) bool {
	return func(p *packet) bool { return p.header.Command == c && (from < 0 || p.from.replica == from) }
}

// registerClients adds and registers n clients.
func (net *testNet) registerClients(n int) []*Client {
	var clients []*Client
	for i := range n {
		c := net.addClient(uint64(i + 1))
		net.register(c)
		clients = append(clients, c)
	}
	return clients
}

// submitEach has every client submit one request, delivering in between.
func (net *testNet) submitEach(clients []*Client) {
	for i, c := range clients {
		if _, err := c.Submit(OperationUserMin, []byte(fmt.Sprint(i))); err != nil {
			net.t.Fatal(err)
		}
		net.deliver()
	}
}

// waitIdle runs until no client has a request in flight.
func (net *testNet) waitIdle(clients []*Client, limit int) {
	net.t.Helper()
	net.run(limit, "all replies", func() bool {
		return !slices.ContainsFunc(clients, func(c *Client) bool { return c.Busy() })
	})
}

// sealedPrepare builds a prepare header at op chained to parent.
func sealedPrepare(view uint32, op uint64, parent U128, tag string) (Header, []byte) {
	h := Header{Command: CommandPrepare, Cluster: testCluster, View: view, Op: op, Parent: parent, Replica: uint8(view % 5)}
	req := Header{Command: CommandRequest, Cluster: testCluster, Client: U128{Lo: 99}, Request: uint32(op), Session: 1, Operation: OperationUserMin}
	reqBuf := make([]byte, HeaderSize+len(tag))
	if _, err := Encode(reqBuf, &req, []byte(tag)); err != nil {
		panic(err)
	}
	buf := make([]byte, HeaderSize+len(reqBuf))
	if _, err := Encode(buf, &h, reqBuf); err != nil {
		panic(err)
	}
	return h, buf
}

// doViewChangeMessage encodes a do_view_change from replica from with the
// headers of log (ascending ops), sent to the primary of view.
func doViewChangeMessage(view, logView uint32, from uint8, log []Header) []byte {
	var body []byte
	for i := len(log) - 1; i >= 0; i-- {
		var b [HeaderSize]byte
		PutHeader(b[:], &log[i])
		body = append(body, b[:]...)
	}
	head := log[len(log)-1]
	h := Header{Command: CommandDoViewChange, Cluster: testCluster, View: view, LogView: logView,
		Op: head.Op, Commit: 0, Context: head.Checksum, Replica: from}
	buf := make([]byte, HeaderSize+len(body))
	if _, err := Encode(buf, &h, body); err != nil {
		panic(err)
	}
	return buf
}

// §4.2 step 3: the new primary takes the log with the largest log_view
// (the paper's v'), and only among those the largest op: a longer log from
// an older view loses to a shorter one from a newer view.
func TestPaperNewerLogViewWinsOverLongerOlderLog(t *testing.T) {
	net := newTestNet(t, 5, nil)
	primary := net.replicas[2] // primary of view 2
	root := rootChecksum(testCluster)
	var older, newer []Header
	parent := root
	for op := uint64(1); op <= 6; op++ { // view 0's log: six ops
		h, _ := sealedPrepare(0, op, parent, fmt.Sprintf("old%d", op))
		older, parent = append(older, h), h.Checksum
	}
	newer = slices.Clone(older[:3])
	h4, _ := sealedPrepare(1, 4, older[2].Checksum, "new4") // view 1 replaced op 4 and dropped 5, 6
	newer = append(newer, h4)

	for _, i := range []int{0, 1, 3, 4} {
		net.partitioned[i] = true // only the two forged do_view_changes reach the primary
	}
	primary.Receive(doViewChangeMessage(2, 0, 3, older))
	primary.Receive(doViewChangeMessage(2, 1, 4, newer))
	net.deliver()
	if primary.status != StatusViewChange || primary.view != 2 || !primary.vc.installed || primary.vc.best != 4 {
		t.Fatalf("primary: status %s view %d installed %v best r%d; want the view-1 log of r4",
			primary.status, primary.view, primary.vc.installed, primary.vc.best)
	}
	if primary.op != 4 || primary.journal.header(4).Checksum != h4.Checksum {
		t.Fatalf("primary op %d; want op 4 from the newer log", primary.op)
	}
	if primary.journal.header(5) != nil || primary.journal.header(6) != nil {
		t.Fatal("ops 5 and 6 of the older log survived")
	}
}

// A retry of a request still in the pipeline is not prepared twice.
func TestPaperRetryOfInFlightRequestNotPreparedTwice(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.PrimaryAbdicateTicks = 10_000 })
	c := net.addClient(1)
	net.register(c)
	prepares := net.replicas[0].stats.Prepares
	net.drop = dropCommand(CommandPrepareOk, -1)
	if _, err := c.Submit(OperationUserMin, []byte("slow")); err != nil {
		t.Fatal(err)
	}
	net.tick(400) // the client retries several times
	if c.Stats().Retries < 2 {
		t.Fatalf("client retried %d times, want several", c.Stats().Retries)
	}
	if got := net.replicas[0].stats.Prepares - prepares; got != 1 {
		t.Fatalf("request prepared %d times", got)
	}
	net.drop = nil
	net.run(500, "reply", func() bool { return !c.Busy() })
	if n := len(net.applied(0)); n != 1 {
		t.Fatalf("executed %d times", n)
	}
}

// The client table is bounded: registering past ClientsMax evicts the
// least recently active session, whose client is told and whose next
// request fails with ErrEvicted.
func TestPaperEvictionOfOldestSession(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.ClientsMax = 2 })
	c1, c2, c3 := net.addClient(1), net.addClient(2), net.addClient(3)
	net.register(c1)
	net.register(c2)
	net.submit(c1, "keeps c1 recent")
	c1Session := c1.session
	net.register(c3) // evicts c2, the least recent
	net.tick(20)
	if c2.Registered() || !c1.Registered() || !c3.Registered() {
		t.Fatalf("registered: c1 %v c2 %v c3 %v; want c2 evicted", c1.Registered(), c2.Registered(), c3.Registered())
	}
	for i, r := range net.replicas {
		if r.Sessions() != 2 || r.clients.get(c2.ID()) != nil {
			t.Fatalf("r%d holds %d sessions, c2 present %v", i, r.Sessions(), r.clients.get(c2.ID()) != nil)
		}
	}
	if net.eventCount(EventEvicted, -1) != 3 {
		t.Fatalf("%d eviction events, want one per replica", net.eventCount(EventEvicted, -1))
	}
	if _, err := c2.Submit(OperationUserMin, []byte("x")); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("evicted client submit: %v", err)
	}
	// A client that does not know it was evicted learns it from its request.
	net.register(c2) // evicts c1 now
	net.tick(20)
	c1.registered, c1.session = true, c1Session // pretend c1 missed its eviction message
	if _, err := c1.Submit(OperationUserMin, []byte("after eviction")); err != nil {
		t.Fatal(err)
	}
	net.run(500, "eviction reply", func() bool { return !c1.Busy() })
	res := net.results[c1.ID()]
	if last := res[len(res)-1]; !errors.Is(last.Err, ErrEvicted) {
		t.Fatalf("request of an evicted session: %+v", last)
	}
}

// §4.2: messages of an older view are ignored.
func TestPaperOlderViewMessagesIgnored(t *testing.T) {
	net := newTestNet(t, 3, nil)
	c := net.addClient(1)
	net.register(c)
	// Capture a view-0 prepare from the primary's journal.
	stale := slices.Clone(net.replicas[0].journal.prepare(1, net.replicas[0].journal.header(1).Checksum))
	net.partitioned[0] = true
	net.run(1000, "view 1", func() bool {
		return net.replicas[1].status == StatusNormal && net.replicas[2].status == StatusNormal && net.replicas[2].view == 1
	})
	net.tick(30) // r2 learns op 1 committed: the view-0 prepare is history
	before := len(net.events)
	r2 := net.replicas[2]
	op, commit := r2.op, r2.commitMin
	r2.Receive(stale)
	// It changes nothing here. (A prepare this backup holds is acknowledged
	// to the primary of its view, which may be resending it; for an op not
	// in that primary's pipeline the acknowledgement is dropped there.)
	for _, e := range net.events[before:] {
		if e.Kind != EventDropped {
			t.Fatalf("view-0 prepare at a view-1 backup: event %+v", e)
		}
	}
	if r2.view != 1 || r2.status != StatusNormal || r2.op != op || r2.commitMin != commit {
		t.Fatalf("view-0 prepare moved a view-1 backup to %s view %d op %d commit %d", r2.status, r2.view, r2.op, r2.commitMin)
	}
	hsvc := Header{Command: CommandStartViewChange, Cluster: testCluster, View: 0, Replica: 0}
	buf := make([]byte, HeaderSize)
	if _, err := Encode(buf, &hsvc, nil); err == nil {
		t.Fatal("encoding a start_view_change of view 0 should fail its field rule")
	}
}

// §4.1: the primary pipelines: several prepares are in flight at once, up
// to PipelineMax, before any of them commits.
func TestPaperPipelining(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.PipelineMax = 3; o.PrimaryAbdicateTicks = 10_000 })
	clients := net.registerClients(6)
	base := net.replicas[0].op
	net.drop = dropCommand(CommandPrepareOk, -1)
	net.submitEach(clients)
	if p := net.replicas[0]; p.pipeline.count != 3 || p.op != base+3 || p.queue.count != 3 {
		t.Fatalf("pipeline %d op %d queue %d; want 3 prepares in flight and 3 queued", p.pipeline.count, p.op-base, p.queue.count)
	}
	net.drop = nil
	net.waitIdle(clients, 1000)
	net.checkAgreement()
}

// Batching: requests queued while the pipeline is full go out together in
// one prepare.
func TestPaperBatching(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.PipelineMax = 1; o.PrimaryAbdicateTicks = 10_000 })
	clients := net.registerClients(5)
	base := net.replicas[0].op
	net.drop = dropCommand(CommandPrepareOk, -1)
	net.submitEach(clients)
	net.drop = nil
	net.waitIdle(clients, 1000)
	net.tick(30) // a heartbeat tells the backups the last commit
	if got := net.replicas[0].op - base; got != 2 {
		t.Fatalf("5 requests took %d prepares, want 2 (one alone, four batched)", got)
	}
	if n := len(net.applied(1)); n != 5 {
		t.Fatalf("backup executed %d requests, want 5", n)
	}
	net.checkAgreement()
}

// A full request queue drops further requests (clients retry): the queue
// never grows past RequestQueueMax.
func TestPaperRequestQueueBackPressure(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.PipelineMax = 1; o.RequestQueueMax = 2; o.PrimaryAbdicateTicks = 10_000 })
	clients := net.registerClients(6)
	net.drop = dropCommand(CommandPrepareOk, -1)
	net.submitEach(clients)
	p := net.replicas[0]
	full := 0
	for _, e := range net.events {
		if e.Kind == EventDropped && e.Reason == "request queue full" {
			full++
		}
	}
	if p.queue.count != 2 || full != 3 {
		t.Fatalf("queue %d, %d dropped as full; want 2 queued and 3 dropped", p.queue.count, full)
	}
	net.drop = nil
	net.waitIdle(clients, 3000)
	net.checkAgreement()
}

// §4.2: ops of the old view's uncommitted suffix are not executed until
// they commit in the new view.
func TestPaperUncommittedSuffixExecutesOnlyAfterCommit(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.PrimaryAbdicateTicks = 10_000 })
	c := net.addClient(1)
	net.register(c)
	// r0 prepares; r1 and r2 store it but their prepare_oks are lost.
	net.drop = dropCommand(CommandPrepareOk, -1)
	if _, err := c.Submit(OperationUserMin, []byte("suffix")); err != nil {
		t.Fatal(err)
	}
	net.deliver()
	net.partitioned[0] = true
	// Hold r2's prepare_oks in the new view too: r1 cannot commit the suffix.
	net.drop = dropCommand(CommandPrepareOk, 2)
	net.run(1000, "view 1", func() bool { return net.replicas[1].status == StatusNormal && net.replicas[1].view == 1 })
	net.tick(20)
	for i := 1; i < 3; i++ {
		if len(net.applied(i)) != 0 {
			t.Fatalf("r%d executed the uncommitted suffix: %v", i, net.applied(i))
		}
	}
	net.drop = nil
	net.run(500, "suffix commits in view 1", func() bool { return len(net.applied(1)) == 1 })
	net.run(500, "client reply", func() bool { return !c.Busy() })
	net.checkAgreement()
}

// A MessageSizeMax that is not a whole number of sectors still writes
// whole sectors: found by the simulator (corpus/unaligned-message-size-max.json).
func TestUnalignedMessageSizeMax(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.MessageSizeMax = 5000 })
	c := net.addClient(1)
	net.register(c)
	big := strings.Repeat("x", 5000-3*HeaderSize)
	net.submit(c, big) // MemoryStorage panics on I/O that is not whole sectors
	for i, s := range net.storages {
		if s.Stats().Writes == 0 {
			t.Fatalf("r%d wrote nothing", i)
		}
	}
	net.checkAgreement()
}

// §4.2 (a primary that cannot make progress): a primary whose oldest
// prepare stays uncommitted for PrimaryAbdicateTicks starts a view change
// instead of holding the cluster, while backups still hear it.
func TestPaperPrimaryAbdicatesWhenItCannotCommit(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.PrimaryAbdicateTicks = 40; o.PrimaryTimeoutTicks = 10_000 })
	c := net.addClient(1)
	net.register(c)
	net.drop = dropCommand(CommandPrepareOk, -1)
	if _, err := c.Submit(OperationUserMin, []byte("stuck")); err != nil {
		t.Fatal(err)
	}
	net.tick(30)
	if net.replicas[0].status != StatusNormal || net.replicas[0].view != 0 {
		t.Fatalf("primary left view 0 before its abdication timeout")
	}
	net.tick(20)
	if net.replicas[0].view == 0 {
		t.Fatalf("primary still in view 0 after its pipeline stalled past the timeout")
	}
	net.drop = nil
	net.run(1000, "reply in a later view", func() bool { return !c.Busy() })
	net.checkAgreement()
}
