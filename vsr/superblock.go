package vsr

import (
	"encoding/binary"
	"fmt"
)

// The superblock is the root of a replica's durable state: its identity,
// the data file's geometry, view, log_view, how far it executed, and which
// checkpoint to restore. It is written before the replica acts on a new
// view, log_view or checkpoint, to all SuperblockCopies copies, each naming
// its sequence number and its predecessor's checksum. A torn or corrupt
// copy is skipped at open; the newest valid one wins.
//
// Sector layout (little-endian):
//
//	offset size field
//	     0   16 checksum of bytes 16..4096
//	    16    8 magic "govsrSB1"
//	    24   16 cluster
//	    40    1 replica
//	    41    1 replica_count
//	    42    1 layout: DataFileLayout of the build that formatted the file (0 before
//	            layouts were numbered); another layout is refused at open
//	    44    4 journal_slots
//	    48    4 message_size_max
//	    52    4 clients_max
//	    56    8 checkpoint_size_max
//	    64    8 sequence
//	    72   16 parent: checksum of the copy written before this one
//	    88    4 view
//	    92    4 log_view
//	    96    8 commit: ops executed here when written (all committed)
//	   104    8 checkpoint op
//	   112   16 checkpoint checksum (of its bytes)
//	   128   16 checkpoint prepare: checksum of the checkpoint op's prepare
//	   144    8 checkpoint size
//	   152    1 checkpoint area (0 or 1)
//	   160    8 log_op: the head of the log when log_view was set; an entry
//	            above it from another view was never part of this log_view's log
//	   168    1 rejoin: 1 if the file was formatted to replace a lost one, so its
//	            empty journal proves nothing until a primary supplies the log
//	   176    8 rejoin_op: the head of the log a replaced disk's replica learned at
//	            its first recovery; its lost disk may have acknowledged any op up to
//	            it, so it never nacks them
//	   184   16 commit_checksum: of the prepare of op commit (the checkpoint's
//	            prepare when commit is the checkpoint op), so the open replays only
//	            the chain that was executed, not a sibling its journal still holds
//	   200    - zero
const superblockMagic = "govsrSB1"

// DataFileLayout numbers the arrangement of a data file's contents that this
// build writes and reads. Layout 2 is the paged checkpoint (a header sector,
// the snapshot at a fixed offset, then the client table); files formatted
// before layouts were numbered record 0. Bump it whenever a build can no
// longer read what an older one wrote, so the refusal names the cause.
const DataFileLayout = 2

type superblockState struct {
	sequence uint64
	parent   U128
	view     uint32
	logView  uint32
	logOp    uint64
	commit   uint64
	// commitChecksum names op commit's prepare: the open replays the
	// journal up to commit only along the chain that ends in it.
	commitChecksum U128
	checkpoint     checkpointRef
	rejoin         bool
	rejoinOp       uint64
}

// checkpointRef names a durable checkpoint.
type checkpointRef struct {
	op       uint64
	checksum U128 // of the checkpoint's bytes; zero for the empty state at op 0
	prepare  U128 // of op's prepare header (the root's for op 0): the chain continues from it
	size     uint64
	area     uint8
}

func encodeSuperblock(b []byte, o *Options, s *superblockState) U128 {
	assert(len(b) == SectorSize, "a superblock copy is one sector")
	// Never write a copy that decodeSuperblock would refuse.
	assert(s.sequence > 0, "a superblock copy has a sequence")
	assert(s.logView <= s.view, "a superblock's log_view is not above its view")
	assert(s.checkpoint.area <= 1, "a superblock names one of two checkpoint areas")
	assert(s.checkpoint.size <= o.CheckpointSizeMax, "a superblock's checkpoint fits its area")
	assert(s.checkpoint.op <= s.commit, "a superblock's checkpoint is of an executed op")
	assert(s.commit != s.checkpoint.op || s.commitChecksum == s.checkpoint.prepare,
		"a superblock at its checkpoint names the checkpoint's prepare as executed")
	clear(b)
	copy(b[16:24], superblockMagic)
	putU128(b[24:], o.Cluster)
	b[40], b[41], b[42] = o.Replica, o.ReplicaCount, DataFileLayout
	le := binary.LittleEndian
	le.PutUint32(b[44:], uint32(o.JournalSlots))
	le.PutUint32(b[48:], o.MessageSizeMax)
	le.PutUint32(b[52:], uint32(o.ClientsMax))
	le.PutUint64(b[56:], o.CheckpointSizeMax)
	le.PutUint64(b[64:], s.sequence)
	putU128(b[72:], s.parent)
	le.PutUint32(b[88:], s.view)
	le.PutUint32(b[92:], s.logView)
	le.PutUint64(b[96:], s.commit)
	le.PutUint64(b[104:], s.checkpoint.op)
	putU128(b[112:], s.checkpoint.checksum)
	putU128(b[128:], s.checkpoint.prepare)
	le.PutUint64(b[144:], s.checkpoint.size)
	b[152] = s.checkpoint.area
	le.PutUint64(b[160:], s.logOp)
	if s.rejoin {
		b[168] = 1
	}
	le.PutUint64(b[176:], s.rejoinOp)
	putU128(b[184:], s.commitChecksum)
	sum := Checksum(b[16:])
	putU128(b[0:], sum)
	return sum
}

// errNotSuperblock marks a sector that is not a valid superblock copy at
// all (blank, torn or corrupt), as opposed to a valid copy of another
// replica's or cluster's data file.
var errNotSuperblock = fmt.Errorf("vsr: not a valid superblock copy")

// decodeSuperblock reads a superblock copy and checks it belongs to the
// replica o describes.
func decodeSuperblock(b []byte, o *Options) (superblockState, error) {
	var s superblockState
	if len(b) != SectorSize || getU128(b[0:]) != Checksum(b[16:]) || string(b[16:24]) != superblockMagic {
		return s, errNotSuperblock
	}
	le := binary.LittleEndian
	switch cluster := getU128(b[24:]); {
	case b[42] != DataFileLayout:
		return s, fmt.Errorf("vsr: data file has layout %d, this build reads layout %d: format it again "+
			"(or replace it, with --rejoin, from the other replicas)", b[42], DataFileLayout)
	case cluster != o.Cluster:
		return s, fmt.Errorf("vsr: data file belongs to cluster %s, not %s", cluster, o.Cluster)
	case b[40] != o.Replica || b[41] != o.ReplicaCount:
		return s, fmt.Errorf("vsr: data file belongs to replica %d of %d, not replica %d of %d",
			b[40], b[41], o.Replica, o.ReplicaCount)
	case le.Uint32(b[44:]) != uint32(o.JournalSlots) || le.Uint32(b[48:]) != o.MessageSizeMax ||
		le.Uint32(b[52:]) != uint32(o.ClientsMax) || le.Uint64(b[56:]) != o.CheckpointSizeMax:
		return s, fmt.Errorf("vsr: data file was formatted with journal slots %d, message size max %d, clients max %d, "+
			"checkpoint size max %d; the options say %d, %d, %d, %d", le.Uint32(b[44:]), le.Uint32(b[48:]),
			le.Uint32(b[52:]), le.Uint64(b[56:]), o.JournalSlots, o.MessageSizeMax, o.ClientsMax, o.CheckpointSizeMax)
	}
	s.sequence = le.Uint64(b[64:])
	s.parent = getU128(b[72:])
	s.view, s.logView = le.Uint32(b[88:]), le.Uint32(b[92:])
	s.commit = le.Uint64(b[96:])
	s.checkpoint = checkpointRef{op: le.Uint64(b[104:]), checksum: getU128(b[112:]), prepare: getU128(b[128:]),
		size: le.Uint64(b[144:]), area: b[152]}
	s.logOp = le.Uint64(b[160:])
	s.rejoin = b[168] == 1
	s.rejoinOp = le.Uint64(b[176:])
	s.commitChecksum = getU128(b[184:])
	if s.logView > s.view || s.checkpoint.area > 1 || s.checkpoint.size > o.CheckpointSizeMax ||
		s.checkpoint.op > s.commit || (s.commit == s.checkpoint.op && s.commitChecksum != s.checkpoint.prepare) {
		return s, fmt.Errorf("vsr: superblock copy %d holds impossible values (view %d log_view %d checkpoint op %d commit %d)",
			s.sequence, s.view, s.logView, s.checkpoint.op, s.commit)
	}
	return s, nil
}

// FormatDataFile returns the sectors of a freshly formatted data file for
// opts, by offset: every superblock copy, at view 0 with an empty log. The
// rest of the file reads as zeros. The environment writes them before it
// starts the replica with NewReplica (or opens it later with OpenReplica).
func FormatDataFile(opts Options) (map[uint64][]byte, error) {
	return formatDataFile(opts, false)
}

// FormatDataFileForRejoin formats a data file for a replica that lost its
// own (a replaced disk). The replica then trusts nothing of its empty
// journal: it must recover the log from a primary, and it catches up by
// state transfer, before it takes part in view changes. Starting a replica
// on a plain FormatDataFile after it had acknowledged prepares could lose
// committed ops.
func FormatDataFileForRejoin(opts Options) (map[uint64][]byte, error) {
	return formatDataFile(opts, true)
}

func formatDataFile(opts Options, rejoin bool) (map[uint64][]byte, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	sectors, _, _ := formatSuperblocks(&opts, rejoin)
	assert(len(sectors) == SuperblockCopies, "a formatted data file has every superblock copy")
	return sectors, nil
}

// formatSuperblocks returns the formatted superblock copies, the state of
// the last one written and its checksum.
func formatSuperblocks(opts *Options, rejoin bool) (map[uint64][]byte, superblockState, U128) {
	l := NewLayout(*opts)
	sectors := map[uint64][]byte{}
	root := rootChecksum(opts.Cluster)
	state := superblockState{commitChecksum: root, checkpoint: checkpointRef{prepare: root}, rejoin: rejoin}
	var sum U128
	for i := uint64(0); i < SuperblockCopies; i++ {
		state.sequence, state.parent = i+1, sum
		b := make([]byte, SectorSize)
		sum = encodeSuperblock(b, opts, &state)
		sectors[l.superblockOffset(state.sequence%SuperblockCopies)] = b
	}
	assert(state.sequence == SuperblockCopies, "formatting writes one sequence per copy")
	return sectors, state, sum
}

// superblock makes view, log_view and checkpoints durable before the
// replica acts on them (DESIGN.md). Each update is written to every copy at
// once, so a copy that a fault spoils leaves others of the same sequence;
// it is durable when all copies are written. At most one update is in
// flight; the latest wanted state is written when it completes.
type superblock struct {
	opts         *Options
	layout       *Layout
	storage      Storage
	owner        superblockOwner
	buf          []byte          // one sector, shared by the copies' writes
	last         superblockState // the latest update submitted
	lastChecksum U128            // its checksum: the next update's parent
	want         superblockState
	writing      superblockState
	copiesLeft   int // copies of the update in flight still to complete
	failed       bool
	durable      superblockState
	// waitingForRing: an update waits for installed headers to reach the
	// headers ring (ringBarrier).
	waitingForRing bool
	// faultyAtOpen: the open found a copy unreadable or invalid, and no
	// update has rewritten every copy since. Only a coverage mark reads it.
	faultyAtOpen bool
	// copiesBehind: the open found a copy that names another checkpoint
	// than the newest (a crash cut the last update short), or one it could
	// not read, and no update has made every copy durable since. Until one
	// does, a single fault to the newest copy would leave an older one
	// newest again, naming the other checkpoint area: no checkpoint may be
	// written there meanwhile (seed 5598). The next update rewrites them;
	// a checkpoint that comes due first asks for one.
	copiesBehind bool
}

// superblockOwner is all the superblock may ask of its replica: the state
// to make durable, whether the headers ring holds what that state names,
// where to report a coverage mark, and what to call once an update is
// durable and nothing newer is wanted.
type superblockOwner interface {
	superblockWant() superblockState
	ringDurable() bool
	mark(m Mark)
	onDurable()
}

// newSuperblock starts from the copies FormatDataFile wrote, whose
// checkpoint is root. It writes through storage at layout's offsets.
func newSuperblock(opts *Options, layout *Layout, storage Storage, owner superblockOwner, root U128) superblock {
	assert(storage != nil, "the superblock writes through a storage")
	assert(owner != nil, "the superblock reports to its replica")
	s := superblock{opts: opts, layout: layout, storage: storage, owner: owner, buf: make([]byte, SectorSize)}
	_, s.durable, s.lastChecksum = formatSuperblocks(opts, false)
	s.last = s.durable
	assert(s.durable.view == 0, "a formatted data file is at view 0")
	assert(s.durable.checkpoint.prepare == root, "a formatted data file's checkpoint is the root")
	return s
}

// superblockWant is the state the replica's superblock makes durable: its
// view, log_view, commit and latest checkpoint written.
func (r *Replica) superblockWant() superblockState {
	assert(r.open == nil, "the superblock is written only once the data file is open")
	return superblockState{view: r.view, logView: r.logView, logOp: r.logOp, commit: r.commitMin,
		commitChecksum: r.commitChecksum, checkpoint: r.checkpoint.written, rejoin: r.rejoin, rejoinOp: r.rejoinOp}
}

// persist asks for the owner's state to be made durable; the owner's
// onDurable runs when it is.
func (s *superblock) persist() {
	s.want = s.owner.superblockWant()
	assert(s.want.view >= s.durable.view, "the durable view never goes back")
	assert(s.want.logView >= s.durable.logView, "the durable log_view never goes back")
	assert(s.want.checkpoint.op <= s.want.commit, "a checkpoint is of an executed op")
	if !s.owner.ringDurable() {
		s.waitingForRing = true
		return
	}
	if s.copiesLeft == 0 {
		s.submit()
	}
}

func (s *superblock) submit() {
	assert(s.copiesLeft == 0, "one superblock update in flight at a time")
	s.writing = s.want
	s.writing.sequence = s.last.sequence + 1
	s.writing.parent = s.lastChecksum
	assert(s.writing.sequence > s.durable.sequence, "the superblock sequence grows")
	assert(s.writing.checkpoint.op >= s.durable.checkpoint.op, "the durable checkpoint never goes back")
	onDisk := s.writing
	s.bugStaleSuperblock(&onDisk)
	s.lastChecksum = encodeSuperblock(s.buf, s.opts, &onDisk)
	s.last = s.writing
	s.copiesLeft, s.failed = SuperblockCopies, false
	for i := range uint64(SuperblockCopies) {
		s.storage.Write(s.layout.superblockOffset(i), s.buf, tag(tagSuperblock, i))
	}
}

func (s *superblock) writeDone(err error) {
	assert(s.copiesLeft > 0, "a superblock write completes a write in flight")
	assert(s.writing.sequence == s.last.sequence, "the update in flight is the latest submitted")
	s.copiesLeft--
	if err != nil {
		s.owner.mark(MarkWriteErrorRetried)
	}
	s.failed = s.failed || err != nil
	if s.copiesLeft > 0 {
		return
	}
	if !s.failed {
		s.durable = s.writing
		s.copiesBehind = false
		if s.faultyAtOpen {
			s.faultyAtOpen = false
			s.owner.mark(MarkSuperblockCopyRepaired)
		}
	}
	if s.want.view != s.durable.view || s.want.logView != s.durable.logView || s.want.logOp != s.durable.logOp ||
		s.want.checkpoint != s.durable.checkpoint || s.want.rejoin != s.durable.rejoin ||
		s.want.rejoinOp != s.durable.rejoinOp || s.failed {
		if !s.owner.ringDurable() {
			s.waitingForRing = true
			return
		}
		s.submit()
		return
	}
	assert(s.durable.sequence == s.writing.sequence, "the update written is durable")
	s.owner.onDurable()
}
