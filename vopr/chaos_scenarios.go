package vopr

import (
	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// Scenarios that span several steps: correlated crashes, view churn, and
// the backlog of issue 8's finding 8.

// stepCrashGroup: several replicas crash in the same instant, up to the
// whole cluster, and each restarts after its own delay.
func (c *chaos) stepCrashGroup() {
	if c.opts.CrashGroup.Num == 0 {
		return
	}
	n := c.sim.opts.Replicas
	fire := c.group.Chance(c.opts.CrashGroup)
	all := c.group.Chance(c.opts.CrashGroupAll)
	size := 2 + c.group.IntN(n-1)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	c.group.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	if !fire || c.sim.phase != phaseSafety || c.scenarioQuiet() {
		return
	}
	if all {
		size = n
	}
	c.crashTogether(order[:size], 0)
}

// crashTogether crashes the replicas of group that are up, in the instant
// that already crashed others; each restarts after its own delay.
func (c *chaos) crashTogether(group []int, already int) {
	n := c.sim.opts.Replicas
	crashed := already
	for _, i := range group {
		downNs := c.restart.Exponential(c.sim.opts.Process.RestartNsMean)
		if !c.sim.replicas[i].down {
			c.sim.crash(i, downNs)
			crashed++
		}
	}
	if crashed >= 2 {
		c.stats.CrashGroups++
		c.sim.logf(logShort, "chaos: %d replicas crashed together", crashed)
	}
	if c.downCount() == n {
		c.stats.CrashWholeCluster++
	}
}

func (c *chaos) downCount() int {
	down := 0
	for _, r := range c.sim.replicas {
		if r.down {
			down++
		}
	}
	return down
}

// maybeCrashOthers: an aimed crash of replica i may take others down with
// it in the same instant (a rack losing power right in the window).
func (c *chaos) maybeCrashOthers(i int) {
	if c.opts.CrashGroupAimed.Num == 0 {
		return
	}
	n := c.sim.opts.Replicas
	together := c.group.Chance(c.opts.CrashGroupAimed)
	all := c.group.Chance(c.opts.CrashGroupAll)
	size := 1 + c.group.IntN(n-1)
	first := c.group.IntN(n)
	if !together {
		return
	}
	if all {
		size = n - 1
	}
	group := make([]int, 0, n)
	for k := 0; len(group) < size && k < n; k++ {
		if j := (first + k) % n; j != i {
			group = append(group, j)
		}
	}
	c.crashTogether(group, 1)
}

// churnState is a view churn episode. It strikes a primary right after
// it sent a prepare (cut to some backups) and isolates it; then, for each
// new primary, right after its start_view (cut to some backups) or right
// after it committed its first op of the new view, it isolates that one
// and brings the previous one back, with whatever old-view tail it holds.
type churnState struct {
	armed   bool   // waiting for a primary's next prepare to start
	active  bool   // isolating new primaries
	left    int    // new primaries still to isolate
	prev    int    // the replica isolated last
	next    int    // the new primary waited for, -1 if none
	fromOp  uint64 // next: the op its start_view named; strike once it commits past it
	sinceNs uint64
}

// churnIdleNsMax ends an episode that saw no new primary for this long.
const churnIdleNsMax = 20_000_000_000

// stepChurn may arm an episode: the next prepare a primary makes starts it.
func (c *chaos) stepChurn() {
	if c.opts.Churn.Num == 0 || c.opts.ChurnViews == 0 {
		return
	}
	start := c.churnPR.Chance(c.opts.Churn)
	ch := &c.churn
	if (ch.armed || ch.active) && c.sim.now-ch.sinceNs > churnIdleNsMax {
		if ch.active {
			c.rejoin(ch.prev)
		}
		*ch = churnState{}
	}
	if !start || ch.armed || ch.active || c.sim.phase != phaseSafety || c.sim.net.faultsOff || c.scenarioQuiet() {
		return
	}
	*ch = churnState{armed: true, next: -1, sinceNs: c.sim.now}
}

// churnSent watches what a replica sends during an episode and strikes
// where the episode wants; it reports whether it struck.
func (c *chaos) churnSent(from int, h *vsr.Header) bool {
	ch := &c.churn
	if c.sim.phase != phaseSafety || c.sim.net.faultsOff || (!ch.armed && !ch.active) {
		return false
	}
	switch {
	case ch.armed && h.Command == vsr.CommandPrepare:
		ch.armed, ch.active, ch.left, ch.prev = false, true, c.opts.ChurnViews, from
		c.stats.ChurnEpisodes++
		c.sim.logf(logShort, "chaos: view churn starts at primary %d", from)
		c.churnStrike(from, h.Checksum, false)
		return true
	case !ch.active || from == ch.prev:
		return false
	case h.Command == vsr.CommandStartView:
		now := c.churnPR.Bool()
		ch.next, ch.fromOp, ch.sinceNs = from, h.Op, c.sim.now
		if !now {
			return false
		}
	case from != ch.next || (h.Command != vsr.CommandPrepare && h.Command != vsr.CommandCommit) || h.Commit <= ch.fromOp:
		return false
	}
	c.rejoin(ch.prev)
	ch.left--
	ch.active = ch.left > 0
	c.churnStrike(from, h.Checksum, !ch.active)
	ch.prev, ch.next, ch.sinceNs = from, -1, c.sim.now
	return true
}

// churnStrike isolates replica i right after this send; the copies of the
// message it is sending reach only some peers. An isolation lasts until
// the episode brings the replica back (at most churnIdleNsMax), the last
// one for exp(ChurnIsolateNsMean).
func (c *chaos) churnStrike(i int, checksum vsr.U128, last bool) {
	allow := subset(c.churnPR, c.sim.opts.Replicas, i)
	isolateNs := c.churnPR.Exponential(c.opts.ChurnIsolateNsMean)
	if !last {
		isolateNs = churnIdleNsMax + stepNs
	}
	c.addCut(i, checksum, allow)
	c.schedule(c.sim.now, i, actionIsolate, isolateNs)
	c.stats.ChurnIsolations++
}

// backlogState drives finding 8's scenario: pause a backup under load
// until the cluster is more than a journal ahead of it, resume it (it
// works through the backlog in a burst), then crash another backup.
type backlogState struct {
	phase    uint8
	replica  int
	baseOp   uint64
	pausedNs uint64
	doneNs   uint64 // when the scenario's crash and restart are over
	rng      *faults.PRNG

	crashedReplica int
	crashedNs      uint64
}

// backlogSettleNs is how long the safety phase goes on after the backlog
// scenario's restart, however many replies the clients got: the wedge of
// finding 8 shows only once the cluster runs on without the crashed backup
// and then with it again.
const backlogSettleNs = 10_000_000_000

// holdsSafety reports whether a scenario in progress keeps the safety
// phase going beyond RequestsMax (TicksMax still ends it).
func (c *chaos) holdsSafety() bool {
	b := &c.backlog
	return c.opts.Backlog && (b.phase != backlogDone || c.sim.now < b.doneNs)
}

// networkQuiet reports whether the network should start no new faults:
// during a backlog scenario that wants a clean network (BacklogQuiet), as
// the run where finding 8 was seen had.
func (c *chaos) networkQuiet() bool { return c.opts.BacklogQuiet && c.scenarioQuiet() }

// scenarioQuiet reports whether a scenario is playing out (from the
// backlog's pause to the end of its settling time): other crashes, pauses
// and isolations hold off meanwhile, so that the scenario is the one the
// seed runs. Their draws are made all the same.
func (c *chaos) scenarioQuiet() bool {
	b := &c.backlog
	return c.opts.Backlog && b.phase != backlogWaiting && (b.phase != backlogDone || c.sim.now < b.doneNs)
}

const (
	backlogWaiting = iota
	backlogPaused
	backlogResumed // the crash of another backup is scheduled
	backlogCrashed // that backup is down until the resumed one is primary
	backlogDone
)

// backlogPauseNsMax ends a backlog pause that the cluster never got far
// enough ahead of (it stalled without the paused replica).
const backlogPauseNsMax = 60_000_000_000

func (b *backlogState) init(s *Simulator) {
	b.rng = s.root.Stream("chaos/backlog")
	if !s.opts.Chaos.Backlog {
		b.phase = backlogDone
	}
}

func (b *backlogState) step(c *chaos) {
	switch {
	case b.phase == backlogDone:
	case c.sim.phase != phaseSafety:
		b.phase = backlogDone
	case b.phase == backlogWaiting && c.sim.now >= c.opts.BacklogAtNs:
		b.pause(c)
	case b.phase == backlogPaused:
		b.maybeResume(c)
	case b.phase == backlogCrashed:
		b.maybeRestart(c)
	}
}

// pause pauses a backup that is normal, up and not paused already.
func (b *backlogState) pause(c *chaos) {
	n := c.sim.opts.Replicas
	first := b.rng.IntN(n)
	for k := range n {
		i := (first + k) % n
		r := c.sim.replicas[i]
		if r.down || r.paused || r.replica.Status() != vsr.StatusNormal || r.replica.IsPrimary() {
			continue
		}
		r.paused, r.pausedAtNs = true, c.sim.now
		c.sim.stats.Pauses++
		b.phase, b.replica, b.baseOp, b.pausedNs = backlogPaused, i, c.clusterCommit(), c.sim.now
		c.stats.BacklogPauses++
		c.sim.logf(logShort, "chaos: backlog: replica %d paused at commit %d until %d ops behind", i, b.baseOp,
			c.opts.BacklogOps)
		return
	}
}

// maybeResume resumes the paused backup once the cluster committed
// BacklogOps past it, and aims a crash at another backup.
func (b *backlogState) maybeResume(c *chaos) {
	r := c.sim.replicas[b.replica]
	if !r.paused {
		b.phase = backlogDone // crashed meanwhile
		return
	}
	commit := c.clusterCommit()
	if commit < b.baseOp+uint64(c.opts.BacklogOps) && c.sim.now-b.pausedNs < backlogPauseNsMax {
		return
	}
	behind := commit - min(commit, r.replica.CommitMin())
	if behind > uint64(c.sim.opts.JournalSlots) {
		c.stats.BacklogBeyondJournal++
	}
	c.sim.logf(logShort, "chaos: backlog: replica %d resumes %d ops behind (journal %d)", b.replica, behind,
		c.sim.opts.JournalSlots)
	c.sim.resume(b.replica)
	b.phase = backlogResumed
	primary := c.primary()
	n := c.sim.opts.Replicas
	first := b.rng.IntN(n)
	for k := range n {
		if i := (first + k) % n; i != b.replica && i != primary && !c.sim.replicas[i].down {
			c.scheduleCrash(c.sim.now+c.opts.BacklogCrashNs, i, crashBacklog)
			return
		}
	}
	b.phase = backlogDone
}

// crashed: the other backup i crashes. It stays down until the resumed
// replica leads a view (so that it comes back to a primary that cannot
// prepare: finding 8's wedge), or BacklogRestartNs at most.
func (b *backlogState) crashed(c *chaos, i int) {
	b.logBacklog(c)
	c.sim.crashNow(i)
	b.phase, b.crashedReplica, b.crashedNs = backlogCrashed, i, c.sim.now
}

func (b *backlogState) maybeRestart(c *chaos) {
	rr := c.sim.replicas[b.replica].replica
	leads := !c.sim.replicas[b.replica].down && rr.Status() == vsr.StatusNormal && rr.IsPrimary()
	if !leads && c.sim.now-b.crashedNs < c.opts.BacklogRestartNs {
		return
	}
	c.sim.logf(logShort, "chaos: backlog: replica %d restarts (replica %d leads: %v)", b.crashedReplica, b.replica, leads)
	c.sim.restart(b.crashedReplica)
	b.phase, b.doneNs = backlogDone, c.sim.now+backlogSettleNs
}

// logBacklog says how far the resumed replica's durable checkpoint is
// behind its execution when another backup crashes (finding 8 wedges a
// replica whose journal limit, checkpoint + slots, falls below its head).
func (b *backlogState) logBacklog(c *chaos) {
	rr := c.sim.replicas[b.replica].replica
	checkpoint, _ := rr.DurableCheckpoint()
	c.sim.logf(logShort, "chaos: backlog: replica %d executed %d, head %d, durable checkpoint %d (journal limit %d)",
		b.replica, rr.CommitMin(), rr.Op(), checkpoint, checkpoint+uint64(c.sim.opts.JournalSlots))
}

// clusterCommit is the highest commit any replica knows of.
func (c *chaos) clusterCommit() uint64 {
	var commit uint64
	for _, r := range c.sim.replicas {
		commit = max(commit, r.replica.CommitMax())
	}
	return commit
}
