package vopr

import (
	"fmt"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// Partition restarts ("partition-restart"): a partition leaves the primary
// on a side whose other side holds a view-change quorum; that side elects
// a newer view, while the primary, cut off, still thinks itself primary of
// the old one. With PartitionRestart's odds, a replica on the primary's
// side reboots at once (on a replaced disk, if the atlas lets the seed
// replace one) and comes back while the sides stay apart: the only
// answers its recovery can get are the stale primary's and its side's. A
// recovery that settles for them rejoins a view the cluster has left
// (mutant 12-recovery-quorum-off-by-one; the durability checker's
// recovery rule, vopr/checker_recovery.go). Random partitions seldom
// line this up: the crash must land inside a partition of this shape and
// the restart before it heals, so the sides are held apart (as clogs)
// until well after the restart.

// drawPartitionRestart draws the kind's options from a stream of its own,
// every draw made whether or not it is on, so that every other option of
// every seed stays as drawn before the kind existed.
func drawPartitionRestart(seed uint64, force Force, c *ChaosOptions) {
	c.PartitionRestart, c.PartitionRestartNsMean = drawAimedKind(seed, force, partitionRestartKind,
		[2]faults.Ratio{faults.Percent(20), faults.Percent(100)}, [2]uint64{500_000_000, 4_000_000_000})
}

const partitionRestartKind = "partition-restart"

// onPartition runs as a random partition starts (side[r]: replica r's
// side). If the primary's side lacks a view-change quorum and the other
// side has one, perhaps a replica reboots where only the stale primary
// can answer it: one beside the primary, at once; or, with the primary
// alone, one of the other side once that side has had time to elect a
// newer view without the primary, moved to the primary's side as it goes
// down. The sides stay apart until exp(PartitionRestartNsMean) after its
// restart, however the partition heals meanwhile.
func (c *chaos) onPartition(side []bool) {
	p := c.partitionPR
	strike := p.Chance(c.opts.PartitionRestart)
	pick := p.Uint64()
	delayNs := electionNs + p.Exponential(c.opts.PartitionRestartNsMean)
	primary := c.primary()
	if !strike || primary < 0 || !c.aiming() || c.scenarioQuiet() {
		return
	}
	var mates, others []int
	for i := range side {
		switch {
		case i == primary:
		case side[i] == side[primary]:
			mates = append(mates, i)
		default:
			others = append(others, i)
		}
	}
	if len(others) < vsr.QuorumViewChange(c.sim.opts.Replicas) {
		return
	}
	if len(mates) > 0 {
		c.partitionRestart(mates[pick%uint64(len(mates))], primary)
		return
	}
	r := others[pick%uint64(len(others))]
	c.schedule(c.sim.now+delayNs, r, actionPartitionRestart, uint64(primary))
}

// electionNs is the least time a reboot of partitionRestart lasts, and
// the least time the other side has to elect a newer view before a reboot
// there: a view change takes a few timeouts of up to a second.
const electionNs = 6_000_000_000

// partitionRestart reboots replica r where, until it is back and a while
// after, it reaches the old primary and no other replica; the clients
// reach neither (they stay with the majority, as a client load balancer
// would keep them), so the old primary, with nothing to prepare, has no
// stalled pipeline to make it abdicate and stays primary of its view.
func (c *chaos) partitionRestart(r, primary int) {
	p := c.partitionPR
	downNs := electionNs + p.Exponential(c.opts.PartitionRestartNsMean)
	holdNs := p.Exponential(c.opts.PartitionRestartNsMean)
	if c.sim.replicas[r].down || !c.aiming() || c.scenarioQuiet() {
		return
	}
	n := c.sim.net
	var far []int
	for i := range n.nodes {
		if i != primary && i != r {
			far = append(far, i)
		}
	}
	n.blocked[n.link(primary, r)], n.blocked[n.link(r, primary)] = false, false
	c.holdApart([]int{primary, r}, far, c.sim.now+downNs+holdNs)
	c.stats.PartitionRestarts++
	c.sim.logf(logShort, "chaos: partition restart: replica %d reboots beside primary %d of view %d, both cut from the rest",
		r, primary, c.sim.replicas[primary].replica.View())
	c.sim.crash(r, downNs)
}

// holdApart clogs every link between sides a and b, both ways, until
// untilNs, however the partition heals meanwhile.
func (c *chaos) holdApart(a, b []int, untilNs uint64) {
	n := c.sim.net
	for _, i := range a {
		for _, j := range b {
			n.clogged[n.link(i, j)] = max(n.clogged[n.link(i, j)], untilNs)
			n.clogged[n.link(j, i)] = max(n.clogged[n.link(j, i)], untilNs)
		}
	}
}

// partitionRestartRow is the options table's row for the kind (pct and
// sec: Rows' formats).
func (c *ChaosOptions) partitionRestartRow(pct func(faults.Ratio) string, sec func(uint64) string) [2]string {
	return [2]string{"partition restart per partition with the primary", fmt.Sprintf("%s: down and held apart exp(%s)",
		pct(c.PartitionRestart), sec(c.PartitionRestartNsMean))}
}
