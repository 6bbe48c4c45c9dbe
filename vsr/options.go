package vsr

import (
	"fmt"
)

// Options bounds everything a replica holds: it allocates at start and
// never grows with uptime. Zero fields take the defaults of DefaultOptions.
type Options struct {
	Cluster      U128  // cluster id: messages of other clusters are dropped
	Replica      uint8 // this replica's index, < ReplicaCount
	ReplicaCount uint8 // 1 to ReplicasMax

	PipelineMax     int    // prepares in flight at the primary (default 8)
	JournalSlots    int    // ops the journal ring holds (default 1024)
	RequestQueueMax int    // requests waiting for the pipeline at the primary (default 64)
	ClientsMax      int    // client sessions (default 32)
	MessageSizeMax  uint32 // largest message, header included (default 64 KiB)

	// CheckpointInterval: every this many ops the replica writes a
	// checkpoint, so the journal can wrap (default JournalSlots/4).
	CheckpointInterval int
	// CheckpointSizeMax bounds a checkpoint: the client table and the state
	// machine's snapshot (default 64 MiB). It sizes the data file's two
	// checkpoint areas and the buffers of state transfer.
	CheckpointSizeMax uint64

	// Timeouts, in ticks of the replica's own clock (a tick is 10 ms).
	HeartbeatTicks         int // primary: commit heartbeat interval (default 10)
	PrepareRetryTicks      int // primary: resend an unacknowledged prepare (default 5)
	PrimaryTimeoutTicks    int // backup: start a view change without word from the primary (default 100)
	PrimaryAbdicateTicks   int // primary: start a view change when the oldest prepare stays uncommitted (default 150)
	ViewChangeTimeoutTicks int // move to the next view when a view change stalls (default 100)
	ViewChangeRetryTicks   int // resend start_view_change / do_view_change (default 10)
	RepairRetryTicks       int // re-request missing headers and prepares (default 5)
	RecoveryRetryTicks     int // recovering: resend recovery (default 20)
	// RecoveryTimeoutTicks: a recovering replica whose journal is intact
	// and that hears from no primary (the whole cluster restarted) joins a
	// view change instead, after this long (default 300).
	RecoveryTimeoutTicks int
	// JitterTicks is the largest random extra delay added to the two
	// view-change timeouts, so that replicas do not all start a view
	// change in the same tick (default 50).
	JitterTicks int

	// TestingBug, for checker tests only, breaks the replica on purpose.
	TestingBug Bug
}

// DefaultOptions returns the defaults for a replica of a cluster.
func DefaultOptions(cluster U128, replica, replicaCount uint8) Options {
	return Options{
		Cluster: cluster, Replica: replica, ReplicaCount: replicaCount,
		// 1024 slots: a checkpoint (JournalSlots/4 ops) comes every 256 ops,
		// each of which carries a batch under load, so writing the whole
		// store at a checkpoint is a small share of the work.
		PipelineMax: 8, JournalSlots: 1024, RequestQueueMax: 64, ClientsMax: 32,
		MessageSizeMax: 64 << 10,
		HeartbeatTicks: 10, PrepareRetryTicks: 5, PrimaryTimeoutTicks: 100,
		PrimaryAbdicateTicks: 150, ViewChangeTimeoutTicks: 100, ViewChangeRetryTicks: 10,
		RepairRetryTicks: 5, JitterTicks: 50, RecoveryRetryTicks: 20, RecoveryTimeoutTicks: 300,
		CheckpointSizeMax: 64 << 20, // CheckpointInterval: JournalSlots/4, filled in by withDefaults
	}
}

// withDefaults fills zero fields from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions(o.Cluster, o.Replica, o.ReplicaCount)
	fill := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&o.PipelineMax, d.PipelineMax)
	fill(&o.JournalSlots, d.JournalSlots)
	fill(&o.RequestQueueMax, d.RequestQueueMax)
	fill(&o.ClientsMax, d.ClientsMax)
	fill(&o.HeartbeatTicks, d.HeartbeatTicks)
	fill(&o.PrepareRetryTicks, d.PrepareRetryTicks)
	fill(&o.PrimaryTimeoutTicks, d.PrimaryTimeoutTicks)
	fill(&o.PrimaryAbdicateTicks, d.PrimaryAbdicateTicks)
	fill(&o.ViewChangeTimeoutTicks, d.ViewChangeTimeoutTicks)
	fill(&o.ViewChangeRetryTicks, d.ViewChangeRetryTicks)
	fill(&o.RepairRetryTicks, d.RepairRetryTicks)
	fill(&o.JitterTicks, d.JitterTicks)
	fill(&o.RecoveryRetryTicks, d.RecoveryRetryTicks)
	fill(&o.RecoveryTimeoutTicks, d.RecoveryTimeoutTicks)
	fill(&o.CheckpointInterval, max(1, o.JournalSlots/4))
	if o.CheckpointSizeMax == 0 {
		o.CheckpointSizeMax = d.CheckpointSizeMax
	}
	if o.MessageSizeMax == 0 {
		o.MessageSizeMax = d.MessageSizeMax
	}
	assert(o.JournalSlots != 0, "the journal slots have a default")
	assert(o.CheckpointInterval != 0, "the checkpoint interval has a default")
	assert(o.CheckpointSizeMax != 0, "the checkpoint size max has a default")
	return o
}

// MessageSizeMin is the smallest MessageSizeMax a cluster may run with: a
// request must fit with room for a state machine's input, and a view change
// must carry a few headers.
const MessageSizeMin = 4 * HeaderSize

// Validate returns an error naming the first option out of range. Zero
// fields are checked as the defaults they stand for.
func (o Options) Validate() error {
	o = o.withDefaults()
	switch {
	case o.ReplicaCount < 1 || o.ReplicaCount > ReplicasMax:
		return fmt.Errorf("vsr: options: replica count %d outside [1, %d]", o.ReplicaCount, ReplicasMax)
	case o.Replica >= o.ReplicaCount:
		return fmt.Errorf("vsr: options: replica %d not below replica count %d", o.Replica, o.ReplicaCount)
	case o.Cluster.IsZero():
		return fmt.Errorf("vsr: options: cluster id is zero")
	case o.PipelineMax < 1 || o.PipelineMax > 1024:
		return fmt.Errorf("vsr: options: pipeline max %d outside [1, 1024]", o.PipelineMax)
	case o.JournalSlots < 2*o.PipelineMax || o.JournalSlots > 1<<20:
		return fmt.Errorf("vsr: options: journal slots %d outside [2×pipeline max = %d, %d]", o.JournalSlots, 2*o.PipelineMax, 1<<20)
	case o.RequestQueueMax < 1 || o.RequestQueueMax > 1<<16:
		return fmt.Errorf("vsr: options: request queue max %d outside [1, %d]", o.RequestQueueMax, 1<<16)
	case o.ClientsMax < 1 || o.ClientsMax > 1<<16:
		return fmt.Errorf("vsr: options: clients max %d outside [1, %d]", o.ClientsMax, 1<<16)
	case o.MessageSizeMax < MessageSizeMin || o.MessageSizeMax > 64<<20:
		return fmt.Errorf("vsr: options: message size max %d outside [%d, %d]", o.MessageSizeMax, MessageSizeMin, 64<<20)
	case o.CheckpointInterval < 1 || o.CheckpointInterval+2*o.PipelineMax > o.JournalSlots || 2*o.CheckpointInterval > o.JournalSlots:
		return fmt.Errorf("vsr: options: checkpoint interval %d must be at least 1, at most half of journal slots %d, "+
			"and leave room for two pipelines of %d", o.CheckpointInterval, o.JournalSlots, o.PipelineMax)
	case o.CheckpointSizeMax < SectorSize || o.CheckpointSizeMax > 1<<36:
		return fmt.Errorf("vsr: options: checkpoint size max %d outside [%d, %d]", o.CheckpointSizeMax, SectorSize, uint64(1)<<36)
	}
	ticks := []struct {
		name string
		v    int
	}{
		{"heartbeat", o.HeartbeatTicks}, {"prepare retry", o.PrepareRetryTicks},
		{"primary timeout", o.PrimaryTimeoutTicks}, {"primary abdicate", o.PrimaryAbdicateTicks},
		{"view change timeout", o.ViewChangeTimeoutTicks}, {"view change retry", o.ViewChangeRetryTicks},
		{"repair retry", o.RepairRetryTicks}, {"jitter", o.JitterTicks},
		{"recovery retry", o.RecoveryRetryTicks}, {"recovery timeout", o.RecoveryTimeoutTicks},
	}
	for _, t := range ticks {
		if t.v < 1 || t.v > 1<<20 {
			return fmt.Errorf("vsr: options: %s ticks %d outside [1, %d]", t.name, t.v, 1<<20)
		}
	}
	if o.PrimaryTimeoutTicks <= o.HeartbeatTicks {
		return fmt.Errorf("vsr: options: primary timeout (%d ticks) must exceed the heartbeat (%d ticks)",
			o.PrimaryTimeoutTicks, o.HeartbeatTicks)
	}
	// What the checks above guarantee the replica: a journal holds two
	// pipelines past a checkpoint interval, and a message holds a request
	// with a header inside a prepare.
	assert(o.JournalSlots >= o.CheckpointInterval+2*o.PipelineMax, "valid options: the journal outlasts a checkpoint interval")
	assert(o.MessageSizeMax >= 2*HeaderSize, "valid options: a prepare can carry a request")
	return nil
}

// quorums holds the replication and view-change quorums by replica count
// (DESIGN.md). Each pair intersects (replication + view change > replicas),
// so every view change sees every committed op; each view-change quorum is a
// majority, so two view changes cannot both complete for one view. Two
// replicas replicate to both, so that one lost disk loses nothing.
var quorums = [ReplicasMax + 1]struct{ replication, viewChange int }{
	1: {1, 1}, 2: {2, 2}, 3: {2, 2}, 4: {2, 3}, 5: {3, 3}, 6: {3, 4},
}

// QuorumReplication is how many replicas (the primary included) must hold a
// prepare durably before it commits.
func QuorumReplication(replicaCount int) int {
	if replicaCount < 1 || replicaCount > ReplicasMax {
		panic(fmt.Sprintf("vsr: replica count %d outside [1, %d]", replicaCount, ReplicasMax))
	}
	return quorums[replicaCount].replication
}

// QuorumViewChange is how many replicas (the new primary included) must
// take part in a view change.
func QuorumViewChange(replicaCount int) int {
	if replicaCount < 1 || replicaCount > ReplicasMax {
		panic(fmt.Sprintf("vsr: replica count %d outside [1, %d]", replicaCount, ReplicasMax))
	}
	return quorums[replicaCount].viewChange
}

// Bug deliberately breaks a replica in one known way, so that tests can show
// the simulator's checkers catch it (a checker never seen failing proves
// nothing). Production code leaves Options.TestingBug zero.
type Bug uint8

// The bugs a replica can be told to have.
const (
	BugNone                   Bug = iota
	BugCommitWithoutQuorum        // the primary commits once it alone holds a prepare
	BugForgeRequest               // the primary alters each request before preparing it
	BugPanicAtOp50                // executing op 50 panics
	BugIgnoreStartView            // backups drop every start_view
	BugReplyBeforeCommit          // the primary answers each request as soon as it prepares it
	BugStaleSuperblock            // superblock updates never record a new view on disk
	BugExecuteDuplicate           // the primary prepares a retry of a session's latest request again, and execution runs it again
	BugStaleSession               // replica 1's sessions forget each executed request's checksum (its store is unaffected)
	BugStampBackwards             // the primary stamps every eighth prepare below its predecessor
	BugDropCommittedTail          // at open, a replica drops the prepares of every op above its checkpoint (it keeps their headers; its disk still holds them)
	BugWaitForAll                 // the primary commits an op only once every replica holds it, not a replication quorum
	BugFirstSuperblockCopy        // the open takes the first valid superblock copy, not the newest
	BugCorruptSlotBlank           // the open takes a slot neither of whose copies is valid for a blank one
	BugIgnoreRejoin               // the open ignores that the data file was formatted --rejoin
	BugLongestLogWins             // a new primary adopts the longest log, whatever its log_view
	BugOldStartView               // a normal backup installs a start_view of an older view
	BugNoAdoptedLogRepair         // a new primary repairs only the entries linked to its head, none of its adopted log below a gap
	BugCheckpointCopiesBehind     // a checkpoint comes due while the superblock copies disagree, and is taken at once
	bugCount
)

var bugNames = [bugCount]string{
	BugNone: "none", BugCommitWithoutQuorum: "commit-without-quorum", BugForgeRequest: "forge-request",
	BugPanicAtOp50: "panic-at-op-50", BugIgnoreStartView: "ignore-start-view",
	BugReplyBeforeCommit: "reply-before-commit", BugStaleSuperblock: "stale-superblock",
	BugExecuteDuplicate: "execute-duplicate", BugStaleSession: "stale-session",
	BugStampBackwards: "stamp-backwards", BugDropCommittedTail: "drop-committed-tail", BugWaitForAll: "wait-for-all",
	BugFirstSuperblockCopy: "first-superblock-copy", BugCorruptSlotBlank: "corrupt-slot-blank",
	BugIgnoreRejoin:   "ignore-rejoin",
	BugLongestLogWins: "longest-log-wins", BugOldStartView: "old-start-view",
	BugNoAdoptedLogRepair: "no-adopted-log-repair", BugCheckpointCopiesBehind: "checkpoint-copies-behind",
}

func (b Bug) String() string {
	if b < bugCount {
		return bugNames[b]
	}
	return "bug(?)"
}

// ParseBug returns the bug named s.
func ParseBug(s string) (Bug, error) {
	for b := BugNone; b < bugCount; b++ {
		if bugNames[b] == s {
			return b, nil
		}
	}
	return BugNone, fmt.Errorf("vsr: unknown bug %q", s)
}
