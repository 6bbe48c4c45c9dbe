package vsr

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Durability tests (Protocol-Aware Recovery, FAST'18): data files torn,
// rotted or replaced. Those a scenario script states as well are scripts,
// run on the simulator with every checker on
// (vopr/testdata/scenarios/par_*.txt).

// repliedInputs returns the inputs of every request that got a reply.
func (net *testNet) repliedInputs() []string {
	var inputs []string
	for _, results := range net.results {
		for _, r := range results {
			if r.Err == nil && r.Operation != OperationRegister {
				_, input, _ := strings.Cut(string(r.Body), ":")
				inputs = append(inputs, input)
			}
		}
	}
	slices.Sort(inputs)
	return inputs
}

// checkReplied asserts that replica i executed every request that got a
// reply: no acknowledged op was lost.
func (net *testNet) checkReplied(i int) {
	net.t.Helper()
	executed := map[string]bool{}
	for _, a := range net.applied(i) {
		_, input, _ := strings.Cut(a, ":")
		executed[input] = true
	}
	for _, input := range net.repliedInputs() {
		if !executed[input] {
			net.t.Fatalf("r%d lost %q, which was acknowledged to its client\napplied: %v", i, input, net.applied(i))
		}
	}
}

func mustRejoinFormat(t *testing.T, o Options) map[uint64][]byte {
	t.Helper()
	sectors, err := FormatDataFileForRejoin(o)
	if err != nil {
		t.Fatal(err)
	}
	return sectors
}

// slotBytes encodes a prepare at op for the classification table.
func slotBytes(t *testing.T, op uint64, view uint32, tag string) (Header, []byte) {
	t.Helper()
	h, msg := sealedPrepare(view, op, U128{Lo: op}, tag)
	return h, msg
}

func ringBytes(h *Header) []byte {
	b := make([]byte, HeaderSize)
	if h != nil {
		PutHeader(b, h)
	}
	return b
}

func padded(msg []byte) []byte {
	b := make([]byte, sectorCeil(uint64(len(msg))))
	copy(b, msg)
	return b
}

func TestPARClassifySlot(t *testing.T) {
	const slots = 8
	h5, p5 := slotBytes(t, 5, 1, "five")
	h13, p13 := slotBytes(t, 13, 1, "thirteen") // the same slot, one lap later
	h13b, p13b := slotBytes(t, 13, 2, "thirteen-v2")
	h6, p6 := slotBytes(t, 6, 1, "six") // another slot's prepare (misdirected here)
	corrupt := func(b []byte) []byte { c := slices.Clone(b); c[40] ^= 0x10; return c }
	blank := make([]byte, SectorSize)
	// log is the durable log position: old says the log_view (3) and its
	// log_op (13) came after every entry here; new says view 2 began at
	// op 5, so an entry of view 2 above op 5 is that view's own.
	old, new := logPosition{view: 3, op: 13}, logPosition{view: 2, op: 5}
	cases := []struct {
		name   string
		ring   []byte
		slot   []byte
		log    logPosition
		class  SlotClass
		header *Header
	}{
		{"blank", ringBytes(nil), blank, old, SlotBlank, nil},
		{"valid", ringBytes(&h13), padded(p13), old, SlotValid, &h13},
		{"header write lost: prepare newer", ringBytes(&h5), padded(p13), old, SlotValid, &h13},
		{"same op, this view's prepare, header write lost", ringBytes(&h13), padded(p13b), new, SlotValid, &h13b},
		{"same op, this view's header, prepare write lost", ringBytes(&h13b), padded(p13), new, SlotMissing, &h13b},
		{"same op, older view's header installed over a newer prepare", ringBytes(&h13), padded(p13b), old, SlotAmbiguous, &h13},
		{"same op, neither copy known newer", ringBytes(&h13b), padded(p13), old, SlotAmbiguous, &h13b},
		{"prepare write lost: older op there", ringBytes(&h13), padded(p5), old, SlotMissing, &h13},
		{"prepare never written", ringBytes(&h13), blank, old, SlotMissing, &h13},
		{"prepare torn", ringBytes(&h13), corrupt(padded(p13)), old, SlotTorn, &h13},
		{"ring corrupt, prepare of this view", corrupt(ringBytes(&h13b)), padded(p13b), new, SlotValid, &h13b},
		{"ring corrupt, prepare of an older view", corrupt(ringBytes(&h13)), padded(p13), old, SlotUnconfirmed, &h13},
		{"ring blank, prepare valid", ringBytes(nil), padded(p13), old, SlotValid, &h13},
		{"ring blank, first write torn", ringBytes(nil), corrupt(padded(p13)), old, SlotBlank, nil},
		{"both corrupt", corrupt(ringBytes(&h13)), corrupt(padded(p13)), old, SlotCorrupt, nil},
		{"misdirected prepare, ring corrupt", corrupt(ringBytes(&h13)), padded(p6), old, SlotCorrupt, nil},
		{"misdirected prepare, ring valid", ringBytes(&h13), padded(p6), old, SlotTorn, &h13},
		{"ring holds another slot's header", ringBytes(&h6), padded(p13), old, SlotUnconfirmed, &h13},
	}
	for _, c := range cases {
		class, h, msg := ClassifySlot(5, slots, c.ring, c.slot, testSizeMax, c.log.view, c.log.op)
		if class != c.class {
			t.Errorf("%s: class %s, want %s", c.name, class, c.class)
			continue
		}
		if c.header != nil && h.Checksum != c.header.Checksum {
			t.Errorf("%s: header of op %d view %d, want op %d view %d", c.name, h.Op, h.View, c.header.Op, c.header.View)
		}
		if (class == SlotValid || class == SlotUnconfirmed) != (msg != nil) {
			t.Errorf("%s: class %s with message %v", c.name, class, msg != nil)
		}
	}
}

func TestPARSuperblockNewestValidCopyWins(t *testing.T) {
	o := DefaultOptions(testCluster, 1, 3).withDefaults()
	sectors, err := FormatDataFile(o)
	if err != nil {
		t.Fatal(err)
	}
	var newest superblockState
	for _, b := range sectors {
		s, err := decodeSuperblock(b, &o)
		if err != nil {
			t.Fatalf("formatted copy does not decode: %v", err)
		}
		newest.sequence = max(newest.sequence, s.sequence)
	}
	if newest.sequence != SuperblockCopies {
		t.Fatalf("newest formatted copy has sequence %d", newest.sequence)
	}
	// Another replica's and another cluster's files are refused by name.
	other := o
	other.Replica = 2
	if _, err := decodeSuperblock(sectors[0], &other); err == nil || !strings.Contains(err.Error(), "replica 1 of 3, not replica 2 of 3") {
		t.Fatalf("another replica's superblock: %v", err)
	}
	other = o
	other.Cluster = U128{Lo: 77}
	if _, err := decodeSuperblock(sectors[0], &other); err == nil || !strings.Contains(err.Error(), "belongs to cluster") {
		t.Fatalf("another cluster's superblock: %v", err)
	}
	// A flipped bit makes a copy invalid, not a different superblock.
	bad := slices.Clone(sectors[0])
	bad[100] ^= 1
	if _, err := decodeSuperblock(bad, &o); err != errNotSuperblock {
		t.Fatalf("corrupt copy: %v", err)
	}
}

// openImage opens replica i's data file as it stands and returns the
// replica once its open completed.
func (net *testNet) reopen(i int) *Replica {
	net.t.Helper()
	if !net.down[i] {
		net.crash(i)
	}
	net.restart(i)
	return net.replicas[i]
}

func TestPARDataFileOfAnotherReplicaRefused(t *testing.T) {
	net := newTestNet(t, 3, nil)
	net.crash(1)
	net.storages[1] = net.storages[2] // replica 2's disk in replica 1's slot
	m := &testMachine{}
	r, err := OpenReplica(net.options[1], net.env(1, net.storages[1], m, 1))
	if err != nil {
		t.Fatal(err)
	}
	net.replicas[1], net.down[1] = r, false
	net.completeIO()
	if err := r.OpenError(); err == nil || !strings.Contains(err.Error(), "belongs to replica 2 of 3") {
		t.Fatalf("open of another replica's file: %v", err)
	}
}

// corruptSlot flips a bit in op's prepare on replica i's disk (and, with
// header, in its headers-ring entry too).
func (net *testNet) corruptSlot(i int, op uint64, header bool) {
	l := NewLayout(net.options[i])
	slot := op % l.JournalSlots
	net.storages[i].FlipBit(l.prepareOffset(slot), 8*HeaderSize+17) // in the body
	if header {
		sector := slot / headersPerSector
		net.storages[i].FlipBit(l.headerSectorOffset(sector), 8*(slot%headersPerSector*HeaderSize+100))
	}
}

func TestPARCorruptCommittedPrepareIsRepaired(t *testing.T) {
	for _, c := range []struct {
		replicas, corrupted int
	}{{3, 1}, {5, 2}} { // one replica; a replication quorum minus one
		t.Run(fmt.Sprintf("%d of %d", c.corrupted, c.replicas), func(t *testing.T) {
			net := newTestNet(t, c.replicas, nil)
			cl := net.addClient(1)
			net.register(cl)
			for i := range 6 {
				net.submit(cl, fmt.Sprintf("x%d", i))
			}
			net.tick(30)
			const target = 4 // a committed op
			for i := 1; i <= c.corrupted; i++ {
				net.crash(i)
				net.corruptSlot(i, target, false)
				net.restart(i)
			}
			torn := 0
			for _, e := range net.events {
				if e.Kind == EventOpened && strings.Contains(e.Reason, "1 torn") {
					torn++
				}
			}
			if torn != c.corrupted {
				t.Fatalf("%d opens found the torn slot, want %d", torn, c.corrupted)
			}
			net.run(1000, "repaired", func() bool {
				for i := 1; i <= c.corrupted; i++ {
					if !net.replicas[i].journal.hasPrepare(target) || net.replicas[i].Status() != StatusNormal {
						return false
					}
				}
				return true
			})
			net.submit(cl, "after")
			net.tick(30)
			// The op was never truncated: every replica executed it, and a
			// second restart finds the slot valid again (rewritten on disk).
			for i := range net.replicas {
				if a := net.applied(i); len(a) < target-1 || !strings.HasPrefix(a[target-2], fmt.Sprint(target)+":") {
					t.Fatalf("r%d applied %v", i, a)
				}
			}
			net.reopen(1)
			last := net.events[len(net.events)-1]
			for _, e := range net.events {
				if e.Kind == EventOpened && e.Replica == 1 {
					last = e
				}
			}
			if !strings.Contains(last.Reason, "0 torn") {
				t.Fatalf("slot not rewritten after repair: %s", last.Reason)
			}
			net.run(1000, "r1 back", func() bool { return net.replicas[1].Status() == StatusNormal })
			net.checkAgreement()
		})
	}
}

// TestPARCrashAtEveryWriteStep runs a one-replica cluster, records every
// write it makes, then for every point in that sequence builds the data
// file a crash there would leave (the writes before it whole, the one in
// flight lost, torn or whole) and opens it: the replica must come back with
// every op it had acknowledged and nothing that was never in its history.
func TestPARCrashAtEveryWriteStep(t *testing.T) {
	tune := func(o *Options) { o.JournalSlots = 32; o.PipelineMax = 3; o.CheckpointInterval = 8 }
	net := newTestNet(t, 1, tune)
	st := net.storages[0]
	var committedAt []uint64 // commit_max when each write completed
	writesDone := uint64(0)
	net.onIO = func(i int) {
		for w := st.Stats().Writes; writesDone < w; writesDone++ {
			committedAt = append(committedAt, net.replicas[0].CommitMax())
		}
	}
	clients := net.registerClients(3) // three at once keep three prepares in flight
	for i := range 25 {               // past several checkpoints and a wrap of the journal
		st.hold = true // both prepares go out before either write completes
		for k, c := range clients {
			if _, err := c.Submit(OperationUserMin, []byte(fmt.Sprintf("c%d-%d", k, i))); err != nil {
				t.Fatal(err)
			}
		}
		net.deliver()
		st.hold = false
		net.waitIdle(clients, 1000)
	}
	history := slices.Clone(net.applied(0))
	writes := slices.Clone(st.log)
	if len(writes) != len(committedAt) {
		t.Fatalf("%d writes recorded, %d completions", len(writes), len(committedAt))
	}
	o := net.options[0]
	format, err := FormatDataFile(o)
	if err != nil {
		t.Fatal(err)
	}
	images := 0
	for k := 0; k <= len(writes); k++ {
		tears := []int{0}
		if k < len(writes) {
			sectors := len(writes[k].data) / SectorSize
			tears = []int{0, sectors}
			if sectors > 1 {
				tears = append(tears, sectors/2)
			}
		}
		for _, tear := range tears {
			image := NewMemoryStorage(&splitMix{state: 1}, MemoryFaults{})
			image.Load(format)
			for _, w := range writes[:k] {
				image.Load(map[uint64][]byte{w.offset: w.data})
			}
			if k < len(writes) && tear > 0 {
				image.Load(map[uint64][]byte{writes[k].offset: writes[k].data[:tear*SectorSize]})
			}
			acked := uint64(0)
			if k > 0 {
				acked = committedAt[k-1]
			}
			checkReopened(t, o, image, history, acked, fmt.Sprintf("crash before write %d (of %d), %d sectors of it landed", k, len(writes), tear))
			images++
		}
		for lost := 1; lost <= 2 && k+lost < len(writes) && allPrepares(o, writes[k:k+lost+1]); lost++ {
			// Completions of independent writes reorder: prepare k+lost
			// landed, the ones before it did not. (A header sector is
			// written only after its prepares, a superblock only after its
			// checkpoint.)
			image := NewMemoryStorage(&splitMix{state: 1}, MemoryFaults{})
			image.Load(format)
			for _, w := range append(slices.Clone(writes[:k]), writes[k+lost]) {
				image.Load(map[uint64][]byte{w.offset: w.data})
			}
			acked := uint64(0)
			if k > 0 {
				acked = committedAt[k-1]
			}
			checkReopened(t, o, image, history, acked, fmt.Sprintf("crash with writes %d to %d lost and write %d landed", k, k+lost-1, k+lost))
			images++
		}
	}
	t.Logf("%d crash images opened", images)
}

// checkReopened opens image as a one-replica cluster and checks it comes
// back normal with every op up to acked executed, in history's order.
func checkReopened(t *testing.T, o Options, image *MemoryStorage, history []string, acked uint64, what string) {
	t.Helper()
	st := &testStorage{MemoryStorage: image}
	st.OnSubmit = func(id uint64) { st.ids = append(st.ids, id) }
	net := &testNet{t: t, results: map[U128][]ClientResult{}, options: []Options{o}}
	net.storages = []*testStorage{st}
	net.machines = []*testMachine{{}}
	net.replicas = []*Replica{nil}
	net.down[0] = true
	net.restart(0)
	net.run(1000, what+": normal", func() bool { return net.replicas[0].Status() == StatusNormal })
	r := net.replicas[0]
	if r.CommitMin() < acked {
		t.Fatalf("%s: executed to %d, but op %d had been acknowledged", what, r.CommitMin(), acked)
	}
	got := net.applied(0)
	if len(got) > len(history) || !slices.Equal(got, history[:len(got)]) {
		t.Fatalf("%s: executed %v, not a prefix of the history %v", what, got, history)
	}
}

// An op the old primary prepared alone, whose prepare then rotted on its
// disk, is in the log the view change adopts but nobody can supply it.
// Once a nack quorum of do_view_changes proves it was never held, the new
// primary truncates it instead of waiting forever; a replica that still
// holds its header does not nack it.
func TestPARNackQuorumTruncatesAnUnrecoverableUncommittedOp(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.RecoveryTimeoutTicks = 30; o.PrimaryAbdicateTicks = 10_000 })
	c := net.addClient(1)
	net.register(c)
	net.submit(c, "kept")
	net.drop = func(p *packet) bool { return p.header.Command == CommandPrepare && p.from.replica == 0 }
	if _, err := c.Submit(OperationUserMin, []byte("lost")); err != nil {
		t.Fatal(err)
	}
	net.tick(3)
	lost := net.replicas[0].Op()
	if !net.replicas[0].journal.durable(lost, net.replicas[0].journal.header(lost).Checksum) {
		t.Fatal("the lone prepare is not durable at r0")
	}
	for i := range net.replicas {
		net.crash(i)
	}
	net.drop = nil
	net.corruptSlot(0, lost, false) // body rots; the header survives in the ring
	net.partitioned[2] = true
	for i := range net.replicas {
		net.restart(i)
	}
	net.tick(600) // r0 and r1 adopt r0's longer log, but nobody has op `lost`
	for i := 0; i < 2; i++ {
		if s := net.replicas[i].Status(); s == StatusNormal {
			t.Fatalf("r%d went normal without the prepare of op %d or a nack quorum", i, lost)
		}
	}
	net.partitioned[2] = false // r2's nack completes the quorum
	net.run(3000, "normal", func() bool {
		for _, r := range net.replicas {
			if r.Status() != StatusNormal {
				return false
			}
		}
		return true
	})
	truncated := false
	for _, e := range net.events {
		truncated = truncated || strings.Contains(e.Reason, fmt.Sprintf("truncated op %d", lost))
	}
	if !truncated {
		t.Fatal("no replica truncated the unrecoverable op")
	}
	net.run(2000, "client done", func() bool { return !c.Busy() })
	net.tick(30)
	for i := range net.replicas {
		if n := net.executions(i, "lost"); n > 1 {
			t.Fatalf("r%d executed lost %d times", i, n)
		}
		net.checkReplied(i)
	}
	net.checkAgreement()
}

func allPrepares(o Options, writes []recordedWrite) bool {
	l := NewLayout(o)
	for _, w := range writes {
		if zone, _ := l.ZoneOf(w.offset); zone != ZonePrepares {
			return false
		}
	}
	return true
}

// A corrupt superblock copy is skipped: the other copies of the same
// update still give the replica its durable view.
func TestPARSuperblockSurvivesACorruptCopy(t *testing.T) {
	net := newTestNet(t, 3, nil)
	c := net.addClient(1)
	net.register(c)
	net.partitioned[0] = true
	net.run(1000, "view 1", func() bool { return net.replicas[1].Status() == StatusNormal && net.replicas[1].View() == 1 })
	net.partitioned[0] = false
	net.submit(c, "x")
	view := net.replicas[2].View()
	for copyIndex := range uint64(SuperblockCopies) {
		net.crash(2)
		net.storages[2].FlipBit(copyIndex*SectorSize, 8*90) // inside the view field
		net.restart(2)
		if got := net.replicas[2].View(); got != view {
			t.Fatalf("with copy %d corrupt, reopened at view %d, want %d", copyIndex, got, view)
		}
		// Recovering rewrites every copy, the corrupt one included.
		net.run(1000, "r2 normal", func() bool { return net.replicas[2].Status() == StatusNormal })
	}
	net.checkAgreement()
}

// A backup that adopts a start_view's log and crashes before it fetched
// the prepares must still name every op of that log after the restart:
// otherwise its durable log_view would vouch for a log that ends early,
// and a view change could pick it over one holding committed ops (found
// by the simulator, seed 110561).
func TestPARStartViewHeadersSurviveACrash(t *testing.T) {
	net := newTestNet(t, 3, func(o *Options) { o.PrimaryAbdicateTicks = 10_000 })
	c := net.addClient(1)
	net.register(c)
	net.submit(c, "a")
	// r2 misses the next ops; r0 and r1 commit them.
	net.drop = func(p *packet) bool { return p.to.replica == 2 && p.header.Command == CommandPrepare }
	for i := range 3 {
		net.submit(c, fmt.Sprintf("missed-%d", i))
	}
	head := net.replicas[0].Op()
	// View 1 (primary r1): r2 takes the start_view but gets no prepares.
	net.partitioned[0] = true
	net.run(2000, "view 1", func() bool {
		r := net.replicas[2]
		return r.Status() == StatusNormal && r.View() == 1 && r.viewDurable()
	})
	if r := net.replicas[2]; r.Op() < head || r.journal.hasPrepare(head) {
		t.Fatalf("r2 at op %d (head %d), holds the head's prepare: %v", r.Op(), head, r.journal.hasPrepare(head))
	}
	net.crash(2)
	net.restart(2)
	if r := net.replicas[2]; r.Op() < head && !r.journalFaulty {
		t.Fatalf("after a restart r2's log ends at op %d, below the start_view's head %d, and it does not know it", r.Op(), head)
	}
	net.drop = nil
	net.partitioned[0] = false
	net.run(2000, "all normal", func() bool {
		for _, r := range net.replicas {
			if r.Status() != StatusNormal || r.CommitMin() < head {
				return false
			}
		}
		return true
	})
	net.checkAgreement()
}
