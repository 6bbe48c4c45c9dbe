package vopr

import (
	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// chaos runs the fault kinds of ChaosOptions. It watches the wire and the
// replicas' state (IsPrimary, Status, View, commit numbers, storage
// submissions) only to aim its faults; it never decides anything for the
// protocol: all it does is crash, isolate, pause and delay, or cut a
// message, as the older kinds do. Each kind draws from a stream of its own
// (chaos/<kind>), and none draws at all when it is off.
type chaos struct {
	sim  *Simulator
	opts *ChaosOptions

	links   *faults.PRNG
	delay   *faults.PRNG
	aim     *faults.PRNG
	window  *faults.PRNG
	group   *faults.PRNG
	churnPR *faults.PRNG
	restart *faults.PRNG // restart delays of the crashes chaos causes

	watch bool // some kind aims at what replicas send
	// held[link] counts long-delayed messages on a link; at most
	// heldMax are, so a link keeps room for ordinary traffic.
	held    []int
	heldMax int

	quietUntilNs uint64 // targeted faults: the next not before
	cuts         []aimedCut
	// first message of each kind considered per replica, so a retry or
	// the next backup's copy of a broadcast is not a new chance.
	lastPrepare        [vsr.ReplicasMax]vsr.U128
	lastStartView      [vsr.ReplicasMax]uint32 // view+1
	lastDoViewChange   [vsr.ReplicasMax]uint32 // view+1
	clientRegisteredNs []uint64                // per client: when its latest register was answered
	clientRepliedNs    []uint64                // per client: when its latest request was answered

	partitionPR *faults.PRNG // partition restarts (chaos_partition.go)
	headLossPR  *faults.PRNG // head losses (chaos_head_loss.go)
	replayPR    *faults.PRNG // client replays (chaos_replay.go)
	tapes       []replayTape // per client, when client-replay is on
	headLoss    headLossState
	tailsPR     *faults.PRNG // stale tails (chaos_tails.go)
	tails       tailsState
	stalePR     *faults.PRNG // stale prepares (chaos_stale_prepares.go)
	stale       stalePreparesState
	churn       churnState
	backlog     backlogState
	meter       divergenceMeter
	stats       ChaosStats

	nearTransferPR *faults.PRNG // near transfers (chaos_near_transfer.go)
	nearTransfer   nearTransferState
}

// ChaosStats counts what the chaos kinds did, and what the divergence
// meter saw (on every run, chaos or not).
type ChaosStats struct {
	ClientCuts       uint64 // client link cuts (one client, some or all replicas)
	ClientSides      uint64 // clients put on the minority side of a replica partition
	LongDelays       uint64 // messages held for seconds to minutes
	LateDeliveries   uint64 // of them, delivered
	LateOldRegisters uint64 // registers delivered after their client registered again
	LateOldRequests  uint64 // requests delivered after their client got a later reply

	TargetPrepare    uint64 // targeted faults right after a primary's prepare
	TargetViewChange uint64 // ... after a start_view or do_view_change
	TargetRepair     uint64 // ... at the primary while a backup repairs
	TargetCrashes    uint64
	TargetIsolations uint64
	AimedCuts        uint64 // copies of an aimed prepare or start_view cut

	CrashJournalWrite    uint64 // crashes with a prepare or headers-ring write in flight
	CrashSuperblockWrite uint64 // ... with a superblock or checkpoint write in flight
	CrashPrepareOk       uint64 // crashes right after a prepare_ok
	CrashViewChangeSent  uint64 // ... after a do_view_change or start_view
	CrashGroups          uint64 // correlated crashes (two replicas or more)
	CrashWholeCluster    uint64 // ... of every replica

	ChurnEpisodes     uint64
	ChurnIsolations   uint64
	PartitionRestarts uint64 // replicas rebooted beside a primary cut off by a partition
	HeadLosses        uint64 // power losses of an op's holders as it commits (chaos_head_loss.go)
	HeadLossSlotsLost uint64 // of them, those whose returning replica lost both copies of the op
	ClientReplays     uint64 // evicted sessions replayed (chaos_replay.go)
	TailsEpisodes     uint64 // stale-tails episodes started (a primary cut from the replicas)
	TailsReturns      uint64 // ... that brought the oldest tail's holder back to lead a view change

	StalePrepareStrikes uint64 // strikes of late older-view prepares (chaos_stale_prepares.go)
	StalePrepareCopies  uint64 // ... copies delivered
	StalePrepareLags    uint64 // lag episodes: a backup cut from a new primary's prepares
	StalePrepareCuts    uint64 // ... prepares cut

	NearTransfers       uint64 // near-transfer episodes (chaos_near_transfer.go)
	NearTransfersPassed uint64 // ... whose backup executed past the op cut
	NearTransferCuts    uint64 // ... prepares cut on their way to it

	CheckpointChunks   uint64 // state-transfer chunks sent
	CheckpointBytesMax uint64 // largest checkpoint a chunk belonged to

	BacklogPauses        uint64
	BacklogBeyondJournal uint64 // pauses that ended more ops behind than the journal holds
	BacklogCrashes       uint64 // other backups crashed after the paused one resumed

	ViewChanges          uint64 // view changes seen completed (a start_view sent)
	ViewChangesDiffering uint64 // the chosen log differs from some do_view_change's
	ViewChangesDivergent uint64 // ... and conflicts with it (a tail dropped or replaced)
}

func newChaos(s *Simulator) *chaos {
	o := &s.opts.Chaos
	c := &chaos{sim: s, opts: o,
		links: s.root.Stream("chaos/client-links"), delay: s.root.Stream("chaos/long-delay"),
		aim: s.root.Stream("chaos/target"), window: s.root.Stream("chaos/crash-window"),
		group: s.root.Stream("chaos/crash-group"), churnPR: s.root.Stream("chaos/churn"),
		restart: s.root.Stream("chaos/restart"), partitionPR: s.root.Stream("chaos/partition-restart"),
		headLossPR: s.root.Stream("chaos/head-loss"), replayPR: s.root.Stream("chaos/client-replay"),
		tailsPR: s.root.Stream("chaos/stale-tails"), stalePR: s.root.Stream("chaos/stale-prepares"),
		held: make([]int, s.net.nodes*s.net.nodes), heldMax: max(1, s.opts.Network.LinkCapacity/4),
		clientRegisteredNs: make([]uint64, s.opts.Clients), clientRepliedNs: make([]uint64, s.opts.Clients),
	}
	for _, k := range []string{"target", "crash-window", "churn", headLossKind, tailsKind, stalePreparesKind,
		nearTransferKind} {
		if on, _ := o.kindOn(k); on {
			c.watch = true
		}
	}
	c.nearTransferPR = s.root.Stream("chaos/" + nearTransferKind)
	c.backlog.init(s)
	c.stale.lagBackup = -1
	return c
}

// Aimed actions, scheduled as eventChaos (a: replica, b: action).
const (
	actionCrash            = iota + 1 // tag: the reason (a crash* constant) and incarnation
	actionIsolate                     // tag: how long, ns
	actionPartitionRestart            // tag: the old primary (chaos_partition.go)
	actionHeadLoss                    // the watched op committed (chaos_head_loss.go)
	actionReplay                      // a: the client's node; data: a message it sent (chaos_replay.go)
	actionTailsCut                    // cut from the other replicas (chaos_tails.go)
	actionStalePrepare                // data: a late copy of an older view's prepare (chaos_stale_prepares.go)
)

// Why chaos crashed a replica: the stats counter it feeds.
const (
	crashTarget = iota + 1
	crashJournalWrite
	crashSuperblockWrite
	crashPrepareOk
	crashViewChangeSent
	crashBacklog
)

// schedule queues an action on replica i at atNs.
func (c *chaos) schedule(atNs uint64, i, action int, tag uint64) {
	c.sim.queue.push(event{at: atNs, kind: eventChaos, a: i, b: action, tag: tag})
}

// scheduleCrash queues a crash of replica i's current incarnation.
func (c *chaos) scheduleCrash(atNs uint64, i, reason int) {
	c.schedule(atNs, i, actionCrash, uint64(c.sim.replicas[i].incarnation)<<8|uint64(reason))
}

func (c *chaos) handle(e *event) {
	if e.b == actionStalePrepare { // no aimed cut waits for it
		c.deliverStale(e.a, e.data)
		return
	}
	defer c.actionDone(e.a)
	switch e.b {
	case actionCrash:
		c.crash(e.a, int(e.tag&0xff), int(e.tag>>8))
	case actionIsolate:
		c.isolate(e.a, e.tag)
	case actionPartitionRestart:
		c.partitionRestart(e.a, int(e.tag))
	case actionHeadLoss:
		c.headLossStrike()
	case actionReplay:
		c.replay(e.data)
	case actionTailsCut:
		c.cutReplicaLinksNow(e.a)
	default:
		panic("vopr: unknown chaos action")
	}
}

// crash crashes replica i for its own exp(restart mean), unless it is
// down already, restarted since the crash was aimed, or the safety phase
// is over.
func (c *chaos) crash(i, reason, incarnation int) {
	r := c.sim.replicas[i]
	downNs := c.restart.Exponential(c.sim.opts.Process.RestartNsMean)
	quiet := reason != crashBacklog && c.scenarioQuiet()
	if c.sim.phase != phaseSafety || r.down || r.incarnation != incarnation || quiet {
		if reason == crashBacklog {
			c.backlog.phase = backlogDone // another fault got there first
		}
		return
	}
	counters := map[int]*uint64{crashTarget: &c.stats.TargetCrashes, crashJournalWrite: &c.stats.CrashJournalWrite,
		crashSuperblockWrite: &c.stats.CrashSuperblockWrite, crashPrepareOk: &c.stats.CrashPrepareOk,
		crashViewChangeSent: &c.stats.CrashViewChangeSent, crashBacklog: &c.stats.BacklogCrashes}
	*counters[reason]++
	c.sim.logf(logShort, "chaos: crash replica %d (%s)", i, crashReasons[reason])
	if reason == crashBacklog {
		c.backlog.crashed(c, i)
		return
	}
	c.sim.crash(i, downNs)
	if reason != crashBacklog {
		c.maybeCrashOthers(i)
	}
}

var crashReasons = map[int]string{crashTarget: "targeted", crashJournalWrite: "journal write in flight",
	crashSuperblockWrite: "superblock or checkpoint write in flight", crashPrepareOk: "right after a prepare_ok",
	crashViewChangeSent: "right after a do_view_change or start_view", crashBacklog: "after the backlog"}

// isolate cuts every link to and from replica i, clients' included, for
// durationNs; the cut heals by itself (as a clog does).
func (c *chaos) isolate(i int, durationNs uint64) {
	if c.sim.phase != phaseSafety || c.sim.net.faultsOff || c.scenarioQuiet() {
		return
	}
	n := c.sim.net
	until := c.sim.now + durationNs
	for j := range n.nodes {
		if j != i {
			n.clogged[n.link(i, j)] = max(n.clogged[n.link(i, j)], until)
			n.clogged[n.link(j, i)] = max(n.clogged[n.link(j, i)], until)
		}
	}
	c.sim.logf(logShort, "chaos: isolate replica %d for %d ms", i, durationNs/1_000_000)
}

// rejoin ends replica i's isolation early (view churn brings an old
// primary back).
func (c *chaos) rejoin(i int) {
	n := c.sim.net
	for j := range n.nodes {
		if j != i {
			n.clogged[n.link(i, j)] = min(n.clogged[n.link(i, j)], c.sim.now)
			n.clogged[n.link(j, i)] = min(n.clogged[n.link(j, i)], c.sim.now)
		}
	}
	c.sim.logf(logShort, "chaos: replica %d rejoins", i)
}

// step runs every 100 ms, after the older kinds' draws.
func (c *chaos) step() {
	c.stepClientLinks()
	c.stepCrashGroup()
	c.stepChurn()
	c.stepHeadLoss()
	c.stepTails()
	c.stepStalePrepares()
	c.stepNearTransfer()
	c.backlog.step(c)
}

// primary returns the replica that is primary, normal and up in the
// highest view any such replica is in, or -1.
func (c *chaos) primary() int {
	best := -1
	for i, r := range c.sim.replicas {
		rr := r.replica
		if r.down || rr.Status() != vsr.StatusNormal || !rr.IsPrimary() {
			continue
		}
		if best < 0 || rr.View() > c.sim.replicas[best].replica.View() {
			best = i
		}
	}
	return best
}

// subset draws a set of replicas other than i (bit j: replica j), never
// all of them when there are two or more: some receive, some do not.
func subset(p *faults.PRNG, replicas, i int) uint8 {
	var mask uint8
	bits := p.Uint64()
	others := 0
	for j := range replicas {
		if j != i {
			others++
			if bits&(1<<j) != 0 {
				mask |= 1 << j
			}
		}
	}
	if others >= 2 && popCountMask(mask) == others {
		mask &^= mask & -mask // drop the lowest
	}
	return mask
}

func popCountMask(m uint8) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}
