package vopr

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/govsr/govsr/vsr"
)

// A superblock that never records a new view: the first do_view_change
// after a view change promises a view the disk does not hold.
func TestCheckerPromisesCatchStaleSuperblock(t *testing.T) {
	res := runWithBug(t, 1, "stale-superblock", nil)
	expectFailure(t, res, Correctness, "it acts on a view not yet durable")
}

// failures records what a checker fails, instead of failing a run.
type failures struct{ messages []string }

func (f *failures) fail(_ Class, message string)  { f.messages = append(f.messages, message) }
func (f *failures) logf(LogLevel, string, ...any) {}

// newThreeReplicas builds, without running it, a three-replica simulator
// whose disks take no faults.
func newThreeReplicas(t *testing.T) *Simulator {
	t.Helper()
	o := Draw(1, Force{"storage": false})
	o.Replicas = 3
	s := mustNew(t, o)
	return s
}

// A prepare_ok for a prepare the backup's disk does not hold (here, of an
// op nobody prepared) is caught at once; the same check passes every
// prepare_ok of a whole run of the correct protocol (the swarm).
func TestCheckerPromisesCatchUndurableAck(t *testing.T) {
	s := newThreeReplicas(t)
	var got failures
	c := newPromisesChecker(s, &got)
	h := vsr.Header{Command: vsr.CommandPrepareOk, Cluster: s.clusterID(), Replica: 1, Op: 7,
		Context: vsr.U128{Lo: 0x5eed, Hi: 1}}
	message := make([]byte, vsr.HeaderSize)
	if _, err := vsr.Encode(message, &h, nil); err != nil {
		t.Fatal(err)
	}
	c.onSend(1, message)
	if len(got.messages) != 1 || !strings.Contains(got.messages[0], "acknowledged op 7") {
		t.Fatalf("got failures %q, want one for the acknowledgement of op 7", got.messages)
	}
}

// The offsets the checker reads a superblock copy at are vsr's: after
// whole runs, every replica that is up and normal holds on disk the view
// and log_view it is in (some of them past view 0).
func TestPromisesSuperblockLayout(t *testing.T) {
	past := 0
	for seed := uint64(1); seed <= 6; seed++ {
		s := runPassing(t, Draw(seed, Force{"storage": false, "superblock": false}), 300)
		for i, r := range s.replicas {
			rr := r.replica
			if r.down || rr.Opening() || rr.Status() != vsr.StatusNormal {
				continue
			}
			views, ok := s.check.promises.diskViews(i)
			if !ok || views.view != rr.View() || views.logView != rr.LogView() {
				t.Errorf("seed %d replica %d: disk holds view %d log_view %d (ok %v), the replica is in view %d log_view %d",
					seed, i, views.view, views.logView, ok, rr.View(), rr.LogView())
			}
			if views.logView > 0 {
				past++
			}
		}
	}
	if past == 0 {
		t.Fatal("no replica ended past view 0: the view offsets went untested")
	}
}

// A do_view_change that nacks a prepare its sender acknowledged in the view
// its log is of is caught; the same nack of a prepare acknowledged in
// another view (its log may since have dropped it), or by a replica that
// since truncated its log as a new primary (seed 272 of mutant 06 showed a
// failed candidate re-adopt, by header, ops it had truncated), is not.
func TestCheckerPromisesCatchNackOfAcknowledged(t *testing.T) {
	s := newThreeReplicas(t)
	prepare := vsr.Header{Command: vsr.CommandPrepare, Cluster: s.clusterID(), View: 1, Op: 5, Commit: 3}
	encoded := make([]byte, vsr.HeaderSize)
	if _, err := vsr.Encode(encoded, &prepare, nil); err != nil {
		t.Fatal(err)
	}
	head, err := vsr.DecodeHeader(encoded)
	if err != nil {
		t.Fatal(err)
	}
	dvc := vsr.Header{Command: vsr.CommandDoViewChange, Cluster: s.clusterID(), Replica: 1, View: 2, LogView: 1,
		Op: 5, Commit: 3, Context: head.Checksum, Client: vsr.U128{Lo: 1}} // nacks op 5, its head
	message := make([]byte, 2*vsr.HeaderSize)
	if _, err := vsr.Encode(message, &dvc, encoded); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ackView   uint32
		truncated bool
		want      int
	}{{0, false, 0}, {1, false, 1}, {1, true, 0}} {
		var got failures
		c := newPromisesChecker(s, &got)
		c.confirmed[1] = diskViews{view: 2, logView: 1} // the disk holds the views the message speaks in
		c.acked[1][ackKey{view: tc.ackView, op: 5, checksum: head.Checksum}] = struct{}{}
		if tc.truncated {
			c.onMark(1, vsr.MarkNackTruncation)
		}
		c.onSend(1, message)
		if len(got.messages) != tc.want || tc.want == 1 && !strings.Contains(got.messages[0], "nacks op 5") {
			t.Errorf("acknowledged in view %d, truncated since %v: got failures %q, want %d", tc.ackView, tc.truncated,
				got.messages, tc.want)
		}
	}
}

// Writes that overwrite what the durable checkpoint does not cover are
// caught: a journal slot whose op is above the durable checkpoint (here,
// on a fresh disk, an op beyond the first lap of the journal), and the area
// of the durable checkpoint (read from the disks of a finished run, which
// also checks the checkpoint offsets of the superblock: the area must hold
// the checkpoint whole for the check to fire).
func TestCheckerPromisesCatchOverwrites(t *testing.T) {
	o := Draw(5, Force{"storage": false, "superblock": false})
	o.RequestsMax = 600
	s := mustNew(t, o)
	fresh := vsr.NewLayout(s.replicas[0].opts)
	prepareWrite := func(c *promisesChecker, op uint64) {
		h := vsr.Header{Command: vsr.CommandPrepare, Cluster: s.clusterID(), Op: op}
		data := make([]byte, vsr.SectorSize)
		if _, err := vsr.Encode(data, &h, nil); err != nil {
			t.Fatal(err)
		}
		c.onWrite(0, fresh.PreparesOffset+op%fresh.JournalSlots*fresh.PrepareSlotSize, data)
	}
	var got failures
	c := newPromisesChecker(s, &got)
	prepareWrite(&c, fresh.JournalSlots)
	prepareWrite(&c, fresh.JournalSlots+1)
	if len(got.messages) != 1 || !strings.Contains(got.messages[0], "does not cover") {
		t.Fatalf("got failures %q, want one for op %d", got.messages, fresh.JournalSlots+1)
	}
	if res := s.Run(); res.Class != Pass {
		t.Fatalf("seed 5: %s: %s", res.Class, firstLine(res.Message))
	}
	for i, r := range s.replicas {
		sb, ok := s.check.promises.diskSuperblock(i)
		if !ok || sb.checksum.IsZero() || r.down {
			continue
		}
		l := &r.storage.layout
		got = failures{}
		c := newPromisesChecker(s, &got)
		c.onWrite(i, l.CheckpointOffset+uint64(1-sb.area)*l.CheckpointAreaSize, make([]byte, vsr.SectorSize))
		c.onWrite(i, l.CheckpointOffset+uint64(sb.area)*l.CheckpointAreaSize, make([]byte, vsr.SectorSize))
		if len(got.messages) != 1 || !strings.Contains(got.messages[0], "holds its durable checkpoint") {
			t.Fatalf("replica %d: got failures %q, want one for area %d", i, got.messages, sb.area)
		}
		return
	}
	t.Fatal("no replica ended with a durable checkpoint")
}

// TestPeekPrepareReadsWhatDecodeReads checks the size offset the promises
// checker reads, and that its partial read of a prepare slot (in place, or
// copied) decodes as a read of the whole slot would: for a prepare of one sector, of several,
// one whose size field is corrupted beyond the slot, and a slot that holds
// stale bytes of a longer prepare beyond a shorter one.
func TestPeekPrepareReadsWhatDecodeReads(t *testing.T) {
	s := newThreeReplicas(t)
	c := newPromisesChecker(s, &failures{})
	st := s.disk(1)
	l := &st.layout
	c.slot = make([]byte, l.PrepareSlotSize)
	whole := make([]byte, l.PrepareSlotSize)
	offset := l.PreparesOffset + 3*l.PrepareSlotSize
	encode := func(bodySize int) []byte {
		h := vsr.Header{Command: vsr.CommandPrepare, Cluster: s.clusterID(), Op: 3, Operation: vsr.OperationRegister}
		b := make([]byte, l.PrepareSlotSize)
		body := make([]byte, bodySize)
		for i := range body {
			body[i] = byte(i*7 + bodySize)
		}
		if _, err := vsr.Encode(b, &h, body); err != nil {
			t.Fatal(err)
		}
		if got := binary.LittleEndian.Uint32(b[headerSizeOffset:]); got != h.Size {
			t.Fatalf("byte %d holds size %d, the header says %d", headerSizeOffset, got, h.Size)
		}
		return b
	}
	long, short := encode(int(c.sizeMax)-vsr.HeaderSize), encode(100)
	bad := encode(5000)
	binary.LittleEndian.PutUint32(bad[headerSizeOffset:], uint32(l.PrepareSlotSize)+1)
	stale := append([]byte(nil), long...)
	copy(stale, short[:vsr.SectorSize])
	for name, slot := range map[string][]byte{"long": long, "short": short, "bad size": bad, "stale tail": stale} {
		st.Load(map[uint64][]byte{offset: slot})
		clear(c.slot)
		partial := c.prepareAt(st, offset, l.PrepareSlotSize)
		st.Peek(offset, whole)
		h1, b1, err1 := vsr.Decode(partial, c.sizeMax)
		h2, b2, err2 := vsr.Decode(whole, c.sizeMax)
		if h1 != h2 || string(b1) != string(b2) || (err1 == nil) != (err2 == nil) {
			t.Fatalf("%s: partial read decodes to %v, %v; the whole slot to %v, %v", name, h1, err1, h2, err2)
		}
		if name != "bad size" && err1 != nil {
			t.Fatalf("%s: %v", name, err1)
		}
	}
}

// TestNeedPrepareReadsPrepareAndRing: a prepare_ok passes only while the
// backup's disk holds the prepare in its slot and its header in the ring;
// the ring header is taken as read when it is the prepare's own bytes,
// and decoded when it is not (here: missing, then another op's).
func TestNeedPrepareReadsPrepareAndRing(t *testing.T) {
	s := newThreeReplicas(t)
	var got failures
	c := newPromisesChecker(s, &got)
	st := s.disk(1)
	l := &st.layout
	const op = 7
	slotOffset := l.PreparesOffset + op%l.JournalSlots*l.PrepareSlotSize
	sectorOffset := l.HeadersOffset + op%l.JournalSlots/headersPerSector*vsr.SectorSize
	if st.mayDamage(slotOffset) || st.mayDamage(sectorOffset) {
		t.Fatal("the test disk may take faults where the check reads: it would check nothing")
	}
	encode := func(op uint64) ([]byte, vsr.Header) {
		h := vsr.Header{Command: vsr.CommandPrepare, Cluster: s.clusterID(), Op: op, Operation: vsr.OperationRegister}
		b := make([]byte, l.PrepareSlotSize)
		if _, err := vsr.Encode(b, &h, []byte("body")); err != nil {
			t.Fatal(err)
		}
		return b, h
	}
	prepare, h := encode(op)
	other, _ := encode(op + 1)
	ring := make([]byte, vsr.SectorSize)
	at := op % l.JournalSlots % headersPerSector * vsr.HeaderSize
	for _, tc := range []struct {
		name        string
		slot, named []byte // the slot's bytes, the ring header's
		want        string // "" passes
	}{
		{"both held", prepare, prepare[:vsr.HeaderSize], ""},
		{"ring header missing", prepare, make([]byte, vsr.HeaderSize), "the prepare: true, its ring header: false"},
		{"ring names another op", prepare, other[:vsr.HeaderSize], "the prepare: true, its ring header: false"},
		{"slot holds another op", other, prepare[:vsr.HeaderSize], "the prepare: false, its ring header: true"},
	} {
		got.messages = nil
		copy(ring[at:], tc.named)
		st.Load(map[uint64][]byte{slotOffset: tc.slot, sectorOffset: ring})
		c.needPrepare(1, op, h.Checksum)
		expectVerdicts(t, tc.name, got.messages, tc.want)
	}
}

// A checkpoint taken while the superblock copies disagree goes to the area
// an older copy still names: seed 87, where a crash cut a superblock update
// short, shows the promises checker catching it at the write (mutant
// 41-superblock-copies-behind-by-damage-only does this through the open),
// and the seed passing without the bug.
func TestCheckerPromisesCatchCheckpointOverCopiesBehind(t *testing.T) {
	res := runWithBug(t, 87, "checkpoint-copies-behind", nil)
	expectFailure(t, res, Correctness, "still names the checkpoint there")
	if res := runWithBug(t, 87, "", nil); res.Class != Pass {
		t.Fatalf("seed 87 without the bug: %s: %s", res.Class, firstLine(res.Message))
	}
}
