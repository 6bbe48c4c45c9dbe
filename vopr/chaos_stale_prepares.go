package vopr

import (
	"fmt"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// Stale prepares ("stale-prepares"): the network delivers, late, copies of
// prepares that primaries of earlier views sent, to a replica of a newer
// view exactly where its log has a hole: ops it has not executed and whose
// prepare (with that checksum) it does not hold, often past its head while
// it lags behind the commit number. A link queue that drains after a
// partition heals, a retransmitting middlebox, or a prepare an old primary
// resent just before it learned of the new view does this.
//
// Independent long delays rarely line it up: the copy must be of a view
// the replica has left, of an op it lacks, and arrive while it still lacks
// it (a lagging backup repairs within a few round trips). Every such copy
// is one a correct replica must refuse or take only as the hash chain from
// its head names it; a protocol that checks a prepare by op instead of by
// checksum, or trusts its view less than its position, takes a superseded
// sibling into its log and executes it (mutants 10-repair-skips-checksum,
// 26-commit-head-by-op, 33-prepare-from-older-view). The copies are
// delivered newest op first, so a sibling taken as the head is followed by
// the sibling below it that its parent names.
const stalePreparesKind = "stale-prepares"

// stalePreparesKept bounds the prepares remembered (the newest distinct
// ones seen on the wire), and stalePreparesPerStrike the copies one strike
// delivers; stalePreparesMax bounds the strikes of a run.
const (
	stalePreparesKept      = 64
	stalePreparesPerStrike = 8
	stalePreparesMax       = 200
)

// stalePrepare is a prepare seen on the wire: its view, op and checksum,
// a copy of its bytes, and how many late copies each replica got.
type stalePrepare struct {
	view     uint32
	op       uint64
	checksum vsr.U128
	message  []byte
	sent     [vsr.ReplicasMax]uint8
}

// staleCopiesMax bounds the late copies of one prepare a replica gets.
const staleCopiesMax = 4

// stalePreparesState is the ring of prepares remembered, and the lag
// episode in progress (lagBackup < 0: none).
type stalePreparesState struct {
	ring []stalePrepare
	next int
	// A lag episode: a new primary starts view lagView at op lagOp over a
	// tail of an older view that the view change dropped; its prepares to
	// lagBackup are cut until lagUntilNs, so the backup lags behind the
	// commit its heartbeats report, and each heartbeat is followed by late
	// copies of the dropped tail: the ops it is about to fetch.
	lagBackup  int
	lagPrimary int
	lagView    uint32
	lagUntilNs uint64
}

// staleLagNsMax is how long a lag episode cuts a backup's prepares.
const staleLagNsMax = 2_000_000_000

// drawStalePrepares draws the kind's options (drawAimedKind): the chance
// per 100 ms of a strike, and the mean extra delay of its copies.
func drawStalePrepares(seed uint64, force Force, c *ChaosOptions) {
	c.StalePrepares, c.StalePreparesNsMean = drawAimedKind(seed, force, stalePreparesKind,
		[2]faults.Ratio{faults.PerMillion(20_000), faults.PerMillion(200_000)}, [2]uint64{1_000_000, 50_000_000})
}

// stalePreparesOn reports whether the kind runs in this seed.
func (c *chaos) stalePreparesOn() bool {
	return c.opts.StalePrepares.Num > 0 && c.sim.opts.Replicas >= 2
}

// rememberPrepare keeps a copy of a prepare seen on the wire, once.
func (c *chaos) rememberPrepare(h *vsr.Header, message []byte) {
	if !c.stalePreparesOn() {
		return
	}
	s := &c.stale
	for i := range s.ring {
		if s.ring[i].checksum == h.Checksum {
			return
		}
	}
	p := stalePrepare{view: h.View, op: h.Op, checksum: h.Checksum, message: append([]byte(nil), message[:h.Size]...)}
	if len(s.ring) < stalePreparesKept {
		s.ring = append(s.ring, p)
		return
	}
	s.ring[s.next] = p
	s.next = (s.next + 1) % len(s.ring)
}

// stepStalePrepares runs every 100 ms: it may strike a replica that has a
// hole an older view's prepare fits.
func (c *chaos) stepStalePrepares() {
	if !c.stalePreparesOn() {
		return
	}
	p := c.stalePR
	strike := p.Chance(c.opts.StalePrepares)
	first := int(p.Uint64N(uint64(c.sim.opts.Replicas)))
	if !strike || c.stats.StalePrepareStrikes >= stalePreparesMax || !c.aiming() || c.scenarioQuiet() {
		return
	}
	// A replica behind the cluster's commit is repairing: its holes are
	// where a late copy can be mistaken for what it asked for.
	var commit uint64
	for _, r := range c.sim.replicas {
		if !r.down {
			commit = max(commit, r.replica.CommitMax())
		}
	}
	for _, lagging := range []bool{true, false} {
		for k := range c.sim.opts.Replicas {
			i := (first + k) % c.sim.opts.Replicas
			if lagging && c.sim.replicas[i].replica.Op() >= commit {
				continue
			}
			if picked := c.staleFor(i, ^uint64(0)); len(picked) > 0 {
				c.strikeStale(i, picked)
				return
			}
		}
	}
}

// staleFor returns the remembered prepares of views before replica i's
// that fall in a hole of its log (an op past its head, or one whose
// prepare it does not hold), newest op first, at most
// stalePreparesPerStrike, none above opMax.
func (c *chaos) staleFor(i int, opMax uint64) []*stalePrepare {
	r := c.sim.replicas[i]
	rr := r.replica
	if r.down || r.paused || rr.Status() == vsr.StatusRecovering {
		return nil
	}
	var picked []*stalePrepare
	for j := range c.stale.ring {
		sp := &c.stale.ring[j]
		hole := sp.op > rr.Op() || !rr.HasPrepare(sp.op)
		if sp.view < rr.View() && sp.op > rr.CommitMin() && sp.op <= opMax && hole && sp.sent[i] < staleCopiesMax {
			picked = append(picked, sp)
		}
	}
	// Newest op first (insertion sort: a few dozen entries at most).
	for a := 1; a < len(picked); a++ {
		for b := a; b > 0 && picked[b].op > picked[b-1].op; b-- {
			picked[b], picked[b-1] = picked[b-1], picked[b]
		}
	}
	return picked[:min(len(picked), stalePreparesPerStrike)]
}

// strikeStale schedules the late copies for replica i, newest op first.
func (c *chaos) strikeStale(i int, picked []*stalePrepare) {
	if len(picked) == 0 {
		panic("vopr: a stale-prepares strike with nothing to deliver")
	}
	c.stats.StalePrepareStrikes++
	at := c.sim.now + c.sim.opts.Network.LatencyNsMin
	for _, sp := range picked {
		sp.sent[i]++
		at += 1 + c.stalePR.Exponential(c.opts.StalePreparesNsMean)
		c.sim.queue.push(event{at: at, kind: eventChaos, a: i, b: actionStalePrepare,
			data: append([]byte(nil), sp.message...)})
	}
	c.sim.logf(logShort, "chaos: stale prepares: %d late copies of older views' prepares for replica %d (ops %d..%d)",
		len(picked), i, picked[len(picked)-1].op, picked[0].op)
}

// deliverStale hands a late copy to replica i, unless it is down or
// paused (the copy is lost) or the safety phase is over.
func (c *chaos) deliverStale(i int, message []byte) {
	r := c.sim.replicas[i]
	if r.down || r.paused || c.sim.phase != phaseSafety {
		return
	}
	c.stats.StalePrepareCopies++
	r.replica.Receive(message)
}

// staleSent watches a copy from replica from to replica to (a prepare,
// start_view or commit, decoded as h) for the lag episode, and reports
// whether the episode cuts it.
func (c *chaos) staleSent(from, to int, h *vsr.Header) bool {
	s := &c.stale
	if !c.stalePreparesOn() || to >= c.sim.opts.Replicas {
		return false
	}
	active := s.lagBackup >= 0 && c.sim.now < s.lagUntilNs && from == s.lagPrimary && to == s.lagBackup
	switch h.Command {
	case vsr.CommandStartView:
		if h.Replica == uint8(from) && h.View > s.lagView && (s.lagBackup < 0 || c.sim.now >= s.lagUntilNs) {
			s.lagView = h.View
			c.armLag(from, to, h)
		}
	case vsr.CommandPrepare:
		if active {
			c.stats.StalePrepareCuts++
			return true
		}
	case vsr.CommandCommit:
		// A heartbeat that reports a commit beyond the backup's head sends
		// it to fetch that op: the late copies follow it.
		if active && h.Commit > c.sim.replicas[to].replica.Op() {
			if picked := c.staleFor(to, h.Commit); len(picked) > 0 {
				c.strikeStale(to, picked)
			}
		}
	}
	return false
}

// armLag starts a lag episode at a new primary's start_view h to backup,
// if a tail of an older view above the new log's head is remembered.
func (c *chaos) armLag(primary, backup int, h *vsr.Header) {
	s := &c.stale
	strike := c.stalePR.Chance(c.opts.StalePrepares)
	tail := false
	for j := range s.ring {
		tail = tail || (s.ring[j].view < h.View && s.ring[j].op > h.Op)
	}
	if !strike || !tail || c.stats.StalePrepareStrikes >= stalePreparesMax || !c.aiming() || c.scenarioQuiet() {
		return
	}
	s.lagBackup, s.lagPrimary, s.lagUntilNs = backup, primary, c.sim.now+staleLagNsMax
	c.stats.StalePrepareLags++
	c.sim.logf(logShort, "chaos: stale prepares: replica %d lags behind new primary %d of view %d (op %d)",
		backup, primary, h.View, h.Op)
}

func (c *ChaosOptions) stalePreparesRow(pct func(faults.Ratio) string, sec func(uint64) string) [2]string {
	return [2]string{"stale prepares per 100 ms", fmt.Sprintf("%s: up to %d older views' prepares, each exp(%s) apart",
		pct(c.StalePrepares), stalePreparesPerStrike, sec(c.StalePreparesNsMean))}
}
