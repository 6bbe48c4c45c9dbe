package vopr

import (
	"fmt"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// Stale tails ("stale-tails"): uncommitted tails of several views stacked
// on top of each other, and a view change led by the replica holding the
// oldest. An episode, for three primaries in turn:
//
//  1. right after a prepare, primary P0 loses its links to the other
//     replicas but not to the clients: it fills its pipeline alone, a
//     tail nobody else holds; once a newer view starts it pauses (its
//     view stays where it was);
//  2. the new primary P1 commits a few ops over the ops of P0's tail,
//     then is isolated until another replica starts a view change;
//  3. the next primary P2, right after its start_view (which reaches only
//     some backups), loses its replica links as P0 did and makes a tail
//     of its own above P1's ops;
//  4. once a view change heads for a view P0 leads, P0 resumes and every
//     link heals: P0 must adopt P2's log over its own stale tail, with
//     nack quorums that prove P2's tail uncommitted.
//
// A do_view_change carries only the top of a log (a message's worth of
// headers; the kind draws small messages), so the new primary holds
// stale entries of older views just below the headers it was given: any
// rule that mistakes one of them for an entry of the adopted log (a
// truncation leaving it as the head, a log chosen by length, repair
// trusting it) makes a stale chain the log (issue 8, finding 2; mutant
// 06-stale-head-established; --bug longest-log-wins). Random faults
// rarely line this up: it needs three views in a row, each tail the
// right length, and the oldest tail's holder back exactly when it leads.

const tailsKind = "stale-tails"

// drawTails draws the kind from a stream of its own, every draw made
// whether or not it is on, so every other option of every seed stays as
// drawn before the kind existed. A seed with it on has three replicas
// (the rotation P0, P1, P2, P0 of consecutive views), enough clients to
// fill a pipeline, and, unless big state needs large messages, messages
// that carry 3-6 headers and a pipeline longer than that: a tail can then
// reach below a do_view_change's headers. (With the seed's own shape the
// rotation rarely lines up: forced on over seeds 1-200, mutant 06 failed
// 3 seeds that way and 12 this way.)
func drawTails(seed uint64, force Force, o *Options) {
	p := faults.New(seed).Stream("options/chaos/stale-tails")
	on := p.Chance(faults.Percent(15))
	ratio := p.RatioBetween(faults.PerMillion(2_000), faults.PerMillion(20_000))
	headers := p.RangeInt(3, 6) // headers a do_view_change carries
	pipeline := p.RangeInt(headers+2, vsrPipelineMax)
	if forced, ok := force[tailsKind]; ok {
		on = forced
	}
	c := &o.Chaos
	c.Tails = faults.Never
	if on && !c.Backlog {
		o.Replicas = 3
	}
	if !on || o.Replicas < 3 {
		return
	}
	c.Tails = ratio
	if c.ValueSizeMax == 0 {
		o.MessageSizeMax = uint32((headers + 1) * vsr.HeaderSize)
		o.PipelineMax = max(o.PipelineMax, pipeline)
	}
	// Enough clients to fill a pipeline; fewer sessions than clients stay
	// fewer by as many (evictions that long delays planned stay).
	short := max(0, o.Clients-o.ClientsMax)
	o.Clients = max(o.Clients, o.PipelineMax+2)
	o.ClientsMax = max(o.ClientsMax, o.Clients-short, 1)
	o.Workload.Keys = max(o.Workload.Keys, (o.Clients+3)/4)
}

// vsrPipelineMax is the longest pipeline Options.Validate allows.
const vsrPipelineMax = 8

// Phases of a stale-tails episode.
const (
	tailsIdle    = iota
	tailsArmed   // waiting for a primary's next prepare: P0
	tailsFirst   // P0 cut from the replicas: waiting for a newer view's start_view
	tailsCommits // waiting for P1 to commit tailsState.commits ops of its view
	tailsDepose  // P1 isolated: waiting for a view change past its view
	tailsSecond  // waiting for the next start_view: P2
	tailsReturn  // P2 cut from the replicas: waiting for a view change to a view P0 leads
)

type tailsState struct {
	phase   int
	p0, p1  int
	p2      int
	view    uint32 // the view of the latest primary struck
	fromOp  uint64 // P1's start_view op
	commits uint64 // ops P1 commits before it is isolated
	sinceNs uint64
}

// tailsIdleNsMax ends an episode that waited this long for its next step.
const tailsIdleNsMax = 20_000_000_000

// tailsOn reports whether the kind runs in this seed.
func (c *chaos) tailsOn() bool { return c.opts.Tails.Num > 0 && c.sim.opts.Replicas >= 3 }

// stepTails may arm an episode, moves a waiting episode on when the view
// change it waits for has started, and ends one that waited too long.
func (c *chaos) stepTails() {
	if !c.tailsOn() {
		return
	}
	t := &c.tails
	start := c.tailsPR.Chance(c.opts.Tails)
	commits := 1 + c.tailsPR.Uint64N(uint64(c.sim.opts.PipelineMax))
	switch {
	case t.phase != tailsIdle && (c.sim.phase != phaseSafety || c.sim.now-t.sinceNs > tailsIdleNsMax):
		c.tailsEnd("episode over")
	case t.phase == tailsIdle:
		if start && c.sim.phase == phaseSafety && !c.sim.net.faultsOff && !c.scenarioQuiet() {
			*t = tailsState{phase: tailsArmed, commits: commits, sinceNs: c.sim.now}
		}
	case t.phase == tailsDepose && c.viewChangePast(t.view) >= 0:
		c.rejoin(t.p1)
		t.phase, t.sinceNs = tailsSecond, c.sim.now
	case t.phase == tailsReturn:
		if i := c.viewChangePast(t.view); i >= 0 && c.sim.replicas[i].replica.View()%uint32(c.sim.opts.Replicas) == uint32(t.p0) {
			c.stats.TailsReturns++
			c.tailsEnd(fmt.Sprintf("replica %d heads for view %d, which replica %d leads", i,
				c.sim.replicas[i].replica.View(), t.p0))
		}
	}
}

// viewChangePast returns a replica other than P0 that is up and in a view
// change to a view after view, or -1.
func (c *chaos) viewChangePast(view uint32) int {
	for i, r := range c.sim.replicas {
		if i != c.tails.p0 && !r.down && r.replica.Status() == vsr.StatusViewChange && r.replica.View() > view {
			return i
		}
	}
	return -1
}

// tailsSent watches what replica from sends during an episode and strikes
// where the episode wants; it reports whether it struck.
func (c *chaos) tailsSent(from int, h *vsr.Header) bool {
	t := &c.tails
	if t.phase == tailsIdle || c.sim.phase != phaseSafety || c.sim.net.faultsOff {
		return false
	}
	rr := c.sim.replicas[from].replica
	switch {
	case t.phase == tailsArmed && h.Command == vsr.CommandPrepare && h.Replica == uint8(from):
		t.p0, t.view, t.phase, t.sinceNs = from, h.View, tailsFirst, c.sim.now
		c.stats.TailsEpisodes++
		c.cutReplicaLinks(from, h.Checksum)
		c.sim.logf(logShort, "chaos: stale tails: primary %d of view %d makes a tail alone", from, h.View)
		return true
	case t.phase == tailsFirst && h.Command == vsr.CommandStartView && from != t.p0 && h.View > t.view:
		c.isolate(t.p0, tailsIdleNsMax+stepNs) // no client requests held for it while it pauses
		c.pauseForTails(t.p0)
		t.p1, t.view, t.fromOp, t.phase, t.sinceNs = from, h.View, h.Op, tailsCommits, c.sim.now
		return false
	case t.phase == tailsCommits && from == t.p1 && rr.View() == t.view && rr.IsPrimary() &&
		rr.CommitMax() >= t.fromOp+t.commits:
		c.isolate(from, tailsIdleNsMax+stepNs)
		t.phase, t.sinceNs = tailsDepose, c.sim.now
		c.sim.logf(logShort, "chaos: stale tails: primary %d of view %d isolated at commit %d", from, t.view, rr.CommitMax())
		return true
	case t.phase == tailsSecond && h.Command == vsr.CommandStartView && from != t.p0 && h.View > t.view:
		t.p2, t.view, t.phase, t.sinceNs = from, h.View, tailsReturn, c.sim.now
		c.cutReplicaLinks(from, h.Checksum)
		c.sim.logf(logShort, "chaos: stale tails: primary %d of view %d makes a tail alone", from, h.View)
		return true
	}
	return false
}

// cutReplicaLinks cuts replica i from the other replicas (its clients
// still reach it) right after its current input, until the episode ends;
// the copies of the message it is sending reach only some of them.
func (c *chaos) cutReplicaLinks(i int, checksum vsr.U128) {
	c.addCut(i, checksum, subset(c.tailsPR, c.sim.opts.Replicas, i))
	c.schedule(c.sim.now, i, actionTailsCut, 0)
}

// cutReplicaLinksNow is the action cutReplicaLinks schedules.
func (c *chaos) cutReplicaLinksNow(i int) {
	if c.tails.phase == tailsIdle || c.sim.phase != phaseSafety || c.sim.net.faultsOff {
		return
	}
	n := c.sim.net
	until := c.sim.now + tailsIdleNsMax + stepNs
	for j := range c.sim.opts.Replicas {
		if j != i {
			n.clogged[n.link(i, j)] = max(n.clogged[n.link(i, j)], until)
			n.clogged[n.link(j, i)] = max(n.clogged[n.link(j, i)], until)
		}
	}
}

// pauseForTails pauses replica i until the episode ends (unless something
// else resumes or crashes it first).
func (c *chaos) pauseForTails(i int) {
	r := c.sim.replicas[i]
	if r.down || r.paused {
		return
	}
	r.paused, r.pausedAtNs = true, c.sim.now
	c.sim.stats.Pauses++
	c.sim.logf(logShort, "chaos: stale tails: replica %d paused with its tail", i)
}

// tailsEnd ends the episode: P0 resumes and every replica it cut rejoins.
func (c *chaos) tailsEnd(why string) {
	t := &c.tails
	c.sim.logf(logShort, "chaos: stale tails: %s; replica %d resumes, links heal", why, t.p0)
	if t.phase >= tailsFirst {
		c.rejoin(t.p0)
		c.sim.resume(t.p0)
	}
	if t.phase >= tailsDepose {
		c.rejoin(t.p1)
	}
	if t.phase >= tailsReturn {
		c.rejoin(t.p2)
	}
	t.phase = tailsIdle
}

// tailsRow is the options table's row for the kind (pct: Rows' format).
func (c *ChaosOptions) tailsRow(pct func(faults.Ratio) string) [2]string {
	return [2]string{"stale tails episode per 100 ms", pct(c.Tails)}
}
