package vsr

import (
	"errors"
	"strings"
	"testing"
)

// recordingBus records what a lone client sends.
type recordingBus struct{ toReplica []uint8 }

func (b *recordingBus) SendToReplica(replica uint8, message []byte) {
	b.toReplica = append(b.toReplica, replica)
}
func (b *recordingBus) SendToClient(U128, []byte) {}

func newLoneClient(t *testing.T) (*Client, *recordingBus, *[]ClientResult) {
	bus := &recordingBus{}
	var results []ClientResult
	c, err := NewClient(ClientOptions{Cluster: testCluster, ID: U128{Lo: 7}, ReplicaCount: 3,
		RequestTimeoutTicks: 10, BackoffMaxTicks: 80}, bus, &splitMix{state: 1},
		func(r *ClientResult) { results = append(results, *r) })
	if err != nil {
		t.Fatal(err)
	}
	return c, bus, &results
}

func TestClientRetriesWithBoundedBackoff(t *testing.T) {
	c, bus, _ := newLoneClient(t)
	if err := c.Register(); err != nil {
		t.Fatal(err)
	}
	if len(bus.toReplica) != 1 || bus.toReplica[0] != 0 {
		t.Fatalf("first send went to %v, want the primary of view 0", bus.toReplica)
	}
	var gaps []int
	last := 0
	for tick := 1; tick <= 2000; tick++ {
		before := len(bus.toReplica)
		c.Tick()
		if sent := len(bus.toReplica) - before; sent > 0 {
			if sent != 3 {
				t.Fatalf("a retry went to %d replicas, want all 3", sent)
			}
			gaps = append(gaps, tick-last)
			last = tick
		}
	}
	if len(gaps) < 5 {
		t.Fatalf("only %d retries in 2000 ticks", len(gaps))
	}
	for i, g := range gaps {
		if g < 10 || g > 80+10 {
			t.Fatalf("retry %d after %d ticks, outside [timeout, backoff max + jitter]", i, g)
		}
	}
	if gaps[len(gaps)-1] <= gaps[0] {
		t.Fatalf("backoff did not grow: gaps %v", gaps)
	}
}

func TestClientRules(t *testing.T) {
	c, _, results := newLoneClient(t)
	if _, err := c.Submit(OperationUserMin, nil); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("submit before register: %v", err)
	}
	if err := c.Register(); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(); !errors.Is(err, ErrBusy) {
		t.Fatalf("second register while one is in flight: %v", err)
	}
	// A reply to another request, or with another checksum, is ignored.
	reply := Header{Command: CommandReply, Cluster: testCluster, Client: U128{Lo: 7}, Op: 1, Commit: 1,
		Request: 1, RequestChecksum: U128{Lo: 1}, View: 4}
	buf := make([]byte, HeaderSize)
	if _, err := Encode(buf, &reply, nil); err != nil {
		t.Fatal(err)
	}
	c.Receive(buf)
	if c.Registered() || len(*results) != 0 || c.Stats().Dropped != 1 {
		t.Fatalf("a reply with a wrong request checksum was taken")
	}
	reply.RequestChecksum = c.checksum
	if _, err := Encode(buf, &reply, nil); err != nil {
		t.Fatal(err)
	}
	c.Receive(buf)
	if !c.Registered() || c.View() != 4 || len(*results) != 1 {
		t.Fatalf("register reply not taken: registered %v view %d", c.Registered(), c.View())
	}
	if _, err := c.Submit(OperationRegister, nil); err == nil {
		t.Fatal("submit of a protocol operation accepted")
	}
	if _, err := c.Submit(OperationUserMin, make([]byte, 64<<10)); err == nil {
		t.Fatal("submit of an input larger than a message accepted")
	}
	// An eviction naming an older session of this client is stale.
	ev := Header{Command: CommandEviction, Cluster: testCluster, Client: U128{Lo: 7}, Session: 99}
	if _, err := Encode(buf, &ev, nil); err != nil {
		t.Fatal(err)
	}
	c.Receive(buf)
	if !c.Registered() {
		t.Fatal("stale eviction ended the session")
	}
	ev.Session = 1
	if _, err := Encode(buf, &ev, nil); err != nil {
		t.Fatal(err)
	}
	c.Receive(buf)
	if c.Registered() {
		t.Fatal("eviction of the current session ignored")
	}
}

func TestNewClientRejectsBadOptions(t *testing.T) {
	bus, rnd, cb := &recordingBus{}, &splitMix{}, func(*ClientResult) {}
	bad := []ClientOptions{
		{Cluster: testCluster, ReplicaCount: 3},
		{ID: U128{Lo: 1}, ReplicaCount: 3},
		{Cluster: testCluster, ID: U128{Lo: 1}, ReplicaCount: 7},
		{Cluster: testCluster, ID: U128{Lo: 1}, ReplicaCount: 3, RequestTimeoutTicks: 100, BackoffMaxTicks: 10},
	}
	for i, o := range bad {
		if _, err := NewClient(o, bus, rnd, cb); err == nil {
			t.Errorf("options %d accepted: %+v", i, o)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	good := DefaultOptions(testCluster, 0, 3)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	edits := map[string]func(o *Options){
		"replica count": func(o *Options) { o.ReplicaCount = 7 },
		"replica":       func(o *Options) { o.Replica = 3 },
		"cluster":       func(o *Options) { o.Cluster = U128{} },
		"pipeline":      func(o *Options) { o.PipelineMax = 2000 },
		"checkpoint":    func(o *Options) { o.CheckpointInterval = o.JournalSlots/2 + 1 },
		"journal":       func(o *Options) { o.JournalSlots = 3 },
		"message":       func(o *Options) { o.MessageSizeMax = 100 },
		"timeout":       func(o *Options) { o.PrimaryTimeoutTicks = o.HeartbeatTicks },
	}
	for name, edit := range edits {
		o := good
		edit(&o)
		if err := o.Validate(); err == nil {
			t.Errorf("%s: invalid options accepted", name)
		}
	}
	for n := 1; n <= ReplicasMax; n++ {
		if QuorumReplication(n)+QuorumViewChange(n) <= n {
			t.Errorf("%d replicas: quorums %d and %d do not intersect", n, QuorumReplication(n), QuorumViewChange(n))
		}
		if 2*QuorumViewChange(n) <= n {
			t.Errorf("%d replicas: view-change quorum %d is not a majority", n, QuorumViewChange(n))
		}
	}
}

// A client told (wrongly) that its session is gone registers again; the
// cluster answers, and its request numbers carry on past the old ones, so
// nothing it sent before can run twice.
func TestClientReregistersAfterAFalseEviction(t *testing.T) {
	net := newTestNet(t, 3, nil)
	c := net.addClient(1)
	net.register(c)
	net.submit(c, "a")
	net.submit(c, "b")
	ev := Header{Command: CommandEviction, Cluster: testCluster, Client: c.ID()}
	buf := make([]byte, HeaderSize)
	if _, err := Encode(buf, &ev, nil); err != nil {
		t.Fatal(err)
	}
	c.Receive(buf)
	if c.Registered() {
		t.Fatal("eviction ignored")
	}
	net.register(c)
	if got := net.submit(c, "c"); !strings.HasSuffix(got, ":c") {
		t.Fatalf("reply %q", got)
	}
	net.tick(30)
	for i := range net.replicas {
		if got := len(net.applied(i)); got != 3 {
			t.Fatalf("r%d applied %v", i, net.applied(i))
		}
	}
}

// A request that ran in an evicted session must not run again in the
// session its client registers next, however late a copy of it arrives:
// found by the simulator (a write applied twice, seen by linearizability).
func TestOldRequestNeverRunsInANewSession(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.ClientsMax = 1 })
	c1, c2 := net.addClient(1), net.addClient(2)
	net.register(c1)
	net.submit(c1, "once")
	var old []byte
	for _, p := range net.sentPackets {
		if p.header.Command == CommandRequest && p.header.Client == c1.ID() && p.header.Request == 1 {
			old = p.data
		}
	}
	if old == nil {
		t.Fatal("c1's request not captured")
	}
	net.register(c2) // evicts c1
	net.tick(20)
	if c1.Registered() {
		t.Fatal("c1 not evicted")
	}
	net.register(c1) // evicts c2; c1's new session must remember request 1
	net.replicas[0].Receive(old)
	net.deliver()
	net.tick(30)
	for i := range net.replicas {
		if n := net.executions(i, "once"); n != 1 {
			t.Fatalf("r%d executed the old request %d times: %v", i, n, net.applied(i))
		}
	}
}
