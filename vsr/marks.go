package vsr

// Coverage marks (FoundationDB's CODE_PROBE, TigerBeetle's marks): a
// replica names each rare protocol path it takes, through its EventHook as
// an EventMark. The simulator counts them per seed, so that a swarm can say
// which paths its seeds reached and a test can fail when a path becomes
// unreachable. A mark only reports: nothing the replica decides reads it,
// and with no hook it costs one nil check.

// Mark names a rare protocol path.
type Mark uint8

// Marks, grouped by protocol phase. Their numbers are not stable across
// versions; their names are (reports and tests name marks by name).
const (
	markNone Mark = iota

	// View change.
	MarkViewChangeStarted // a replica starts (or joins) a view change
	MarkViewChangeTimeout // a view change stalled and moved on to the next view
	MarkViewJump          // a prepare or commit of a newer view made a replica join it
	MarkViewChangePrimary // a view change finished: the new primary starts its view
	MarkViewChangeBackup  // a view change finished: a backup installs the new primary's log
	MarkLogAdoptedPeer    // the new primary adopted another replica's log
	MarkDoViewChangeFault // a do_view_change sent from a journal with slots it cannot read (it nacks nothing)
	MarkNackTruncation    // a nack quorum proved uncommitted ops absent: the new primary truncated them
	MarkLogVouched        // a truncation left a head no chain reaches, vouched for by the primary that led its view
	MarkAbdication        // a primary whose pipeline or queue stalled started a view change

	// Normal operation.
	MarkTimestampClamp         // a primary stamped a prepare above its own clock: the log it extends is ahead of it
	MarkJournalWrap            // a primary began another lap of the journal ring
	MarkJournalWaitsCheckpoint // a replica holds back an op (preparing or executing it): its slot waits for a durable checkpoint
	MarkStaleMessage           // a message of an older view was dropped
	MarkRequestForwarded       // a backup forwarded a client's request to the primary
	MarkBackupReplyCached      // a backup answered a client's retry from its reply cache
	MarkEviction               // a client session was evicted for a new one
	MarkSessionReregistered    // a client with a session registered again: the session was renewed
	MarkStaleSessionRequest    // a request of a session its client no longer has was refused

	// Repair and state transfer.
	MarkDamagedPrepareRepaired // a prepare was repaired into a slot the open found torn, missing, corrupt or ambiguous
	MarkHeaderRepaired         // a header below the chain was fetched and linked
	MarkAdoptedLogRepaired     // a new primary fetched an entry of its adopted log below a gap, named by the entry above it
	MarkCommitHeadFetched      // a backup whose log ended below the primary's commit received that op
	MarkRepairFallbackTransfer // repair stalled behind peers' checkpoints: the replica turns to state transfer
	MarkStateTransferStarted   // the first chunk of a peer's checkpoint arrived
	MarkStateTransferRestarted // a state transfer stalled and started over with another peer
	MarkStateTransferFinished  // a peer's checkpoint was restored
	MarkCheckpointTaken        // a checkpoint became durable
	MarkCheckpointDamaged      // the open found the durable checkpoint unreadable

	// Restart, recovery and storage faults.
	MarkRecoveryStarted        // a restarted replica began recovery
	MarkRecoveryFallback       // no primary answered a recovery: an intact journal joined a view change on its own
	MarkRecoveryBlockedFaulty  // the recovery fallback came due, but a faulty journal must wait for a primary
	MarkRecoveryNewerView      // a recovering peer's newer view moved this replica into a view change
	MarkRejoinRecovery         // a replaced disk's replica learned the log from a primary
	MarkDiskReplaced           // the open found a data file formatted to replace a lost one
	MarkOpenSlotCorrupt        // the open found a journal slot neither of whose copies is valid
	MarkOpenSlotAmbiguous      // the open found a slot whose two valid copies disagree (ClassifySlot: SlotAmbiguous)
	MarkOpenHeadLost           // the open found the journal no longer names the head the superblock recorded
	MarkReplayChainBroken      // the open's replay found the executed ops' chain broken in the journal (a gap or a sibling): it replays none
	MarkSuperblockCopyFaulty   // the open found a superblock copy unreadable or invalid
	MarkSuperblockCopiesBehind // the open found copies naming another checkpoint than the newest: it rewrites them first
	MarkSuperblockCopyRepaired // after such an open, a superblock update rewrote every copy
	MarkWriteErrorRetried      // a write failed and was submitted again

	markEnd
)

// MarkCount sizes an array of per-mark counts indexed by Mark (index 0,
// no mark, stays unused).
const MarkCount = int(markEnd)

var markNames = [markEnd]string{
	MarkViewChangeStarted: "view_change_started", MarkViewChangeTimeout: "view_change_timeout",
	MarkViewJump: "view_jump", MarkViewChangePrimary: "view_change_primary", MarkViewChangeBackup: "view_change_backup",
	MarkLogAdoptedPeer: "log_adopted_from_peer", MarkDoViewChangeFault: "do_view_change_faulty",
	MarkNackTruncation: "nack_truncation", MarkLogVouched: "log_vouched", MarkAbdication: "abdication",

	MarkTimestampClamp: "timestamp_clamp", MarkJournalWrap: "journal_wrap",
	MarkJournalWaitsCheckpoint: "journal_waits_checkpoint", MarkStaleMessage: "stale_message",
	MarkRequestForwarded: "request_forwarded", MarkBackupReplyCached: "backup_reply_cached",
	MarkEviction: "eviction", MarkSessionReregistered: "session_reregistered",
	MarkStaleSessionRequest: "stale_session_request",

	MarkDamagedPrepareRepaired: "damaged_prepare_repaired", MarkHeaderRepaired: "header_repaired", MarkAdoptedLogRepaired: "adopted_log_repaired",
	MarkCommitHeadFetched: "commit_head_fetched", MarkRepairFallbackTransfer: "repair_fallback_state_transfer",
	MarkStateTransferStarted: "state_transfer_started", MarkStateTransferRestarted: "state_transfer_restarted",
	MarkStateTransferFinished: "state_transfer_finished", MarkCheckpointTaken: "checkpoint_taken",
	MarkCheckpointDamaged: "checkpoint_damaged",

	MarkRecoveryStarted: "recovery_started", MarkRecoveryFallback: "recovery_fallback",
	MarkRecoveryBlockedFaulty: "recovery_blocked_faulty", MarkRecoveryNewerView: "recovery_newer_view",
	MarkRejoinRecovery: "rejoin_recovery", MarkDiskReplaced: "disk_replaced",
	MarkOpenSlotCorrupt: "open_slot_corrupt", MarkOpenSlotAmbiguous: "open_slot_ambiguous",
	MarkOpenHeadLost: "open_head_lost", MarkReplayChainBroken: "replay_chain_broken",
	MarkSuperblockCopyFaulty:   "superblock_copy_faulty",
	MarkSuperblockCopiesBehind: "superblock_copies_behind",
	MarkSuperblockCopyRepaired: "superblock_copy_repaired", MarkWriteErrorRetried: "write_error_retried",
}

func (m Mark) String() string {
	if !m.Valid() {
		return "mark(?)"
	}
	name := markNames[m]
	assert(name != "", "every mark has a name")
	return name
}

// Valid reports whether m is one of the marks.
func (m Mark) Valid() bool { return m > markNone && m < markEnd }

// Marks returns every mark, in declaration order.
func Marks() []Mark {
	all := make([]Mark, 0, MarkCount-1)
	for m := markNone + 1; m < markEnd; m++ {
		all = append(all, m)
	}
	assert(len(all) == MarkCount-1, "every mark is listed once")
	assert(all[len(all)-1] == markEnd-1, "the last mark is listed")
	return all
}

// ParseMark returns the mark named name.
func ParseMark(name string) (Mark, bool) {
	for m := markNone + 1; m < markEnd; m++ {
		assert(markNames[m] != "", "every mark has a name to parse")
		if markNames[m] == name {
			return m, true
		}
	}
	return markNone, false
}

// mark reports that the replica took the rare path m. The event is the
// replica's own, reused: a mark allocates nothing, and with no hook it
// costs the nil check.
func (r *Replica) mark(m Mark) {
	if r.hook == nil {
		return
	}
	assert(m.Valid(), "a mark is one of the marks")
	r.markEvent = Event{Kind: EventMark, Replica: r.opts.Replica, Status: r.status, View: r.view, Op: r.op,
		Commit: r.commitMin, Mark: m}
	r.hook(&r.markEvent)
}

// dropStale drops a message of an older view than this replica's, and
// marks it: a message that outlived its view (a long delay, a partition)
// must change nothing.
func (r *Replica) dropStale(c Command, reason string) {
	assert(reason != "", "a stale drop says why")
	assert(r.open == nil, "a message is judged stale only once the data file is open")
	r.mark(MarkStaleMessage)
	r.drop(c, reason)
}
