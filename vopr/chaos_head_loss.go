package vopr

import (
	"fmt"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// Head loss ("head-loss"): a power loss takes down, the instant the
// primary commits an op, exactly the replicas that hold it (a replication
// quorum: its prepare reached no other backup), and the disk of one of
// them loses that op's slot, its newest acknowledged write, in every copy
// the atlas lets faults strike (a drive that acknowledged a flush it had
// not made, a torn last write). That replica comes back first; the other
// holders stay down until well after its recovery could have fallen back
// to a view change. Meanwhile the replicas up never held the op: the only
// trace of it among them is a slot the returning replica cannot read.
//
// Independent draws almost never line this up: the damage must strike the
// head (not one of the older writes bit rot picks), the power loss must
// take every other holder and no one else, right after the commit and
// before any backup repairs the op, and the damaged replica must return
// first. A protocol that takes a journal with an unreadable slot for a
// complete log (a recovery that falls back to a view change on it, a
// do_view_change that nacks, a head taken from what the journal still
// names) offers a log without the op to a view-change quorum that holds
// nothing newer, and a committed op is lost (mutant
// 13-faulty-journal-falls-back). A correct protocol waits for a holder.
//
// The damage stays inside the storage atlas (vopr/atlas.go): only copies
// faults may strike on that disk, so every committed op keeps an intact
// copy on a holder that comes back.

// headLossState is one head loss in progress.
type headLossState struct {
	phase   int
	armedNs uint64 // when the phase began
	primary int
	view    uint32
	op      uint64 // the prepare whose holders crash
	holders uint8  // replicas the prepare may reach (bit i: replica i)
	damaged int    // the holder whose disk loses the op's slot
}

const (
	headLossIdle     = iota
	headLossArmed    // waiting for a primary's next prepare
	headLossWatching // its copies reach the holders only; waiting for its commit
)

// headLossWatchNsMax gives up a head loss whose prepare did not commit
// this long after it was made (a holder was slow, or a view change came).
const headLossWatchNsMax = 2_000_000_000

// headLossesMax bounds the head losses of a run. Each leaves a replica
// with a slot it cannot read until a primary's log replaces it; a second
// such replica before the first is repaired can leave too few intact
// journals to elect anyone (by design: an excused liveness stall), so one
// a run is where the kind finds bugs without making the liveness check
// mute on many seeds.
const headLossesMax = 1

const headLossKind = "head-loss"

// drawHeadLoss draws the kind's options (drawAimedKind).
func drawHeadLoss(seed uint64, force Force, c *ChaosOptions) {
	c.HeadLoss, c.HeadLossNsMean = drawAimedKind(seed, force, headLossKind,
		[2]faults.Ratio{faults.PerMillion(5_000), faults.PerMillion(50_000)}, [2]uint64{1_000_000_000, 5_000_000_000})
}

// drawAimedKind draws a kind that is on in 30% of seeds, with a ratio and
// a mean time drawn between bounds, from a stream of its own, every draw
// made whether or not it is on, so that every other option of every seed
// stays as drawn before the kind existed. Off, the ratio is never.
func drawAimedKind(seed uint64, force Force, kind string, ratio [2]faults.Ratio, meanNs [2]uint64) (faults.Ratio, uint64) {
	p := faults.New(seed).Stream("options/chaos/" + kind)
	on := p.Chance(faults.Percent(30))
	r := p.RatioBetween(ratio[0], ratio[1])
	mean := p.Range(meanNs[0], meanNs[1])
	if forced, ok := force[kind]; ok {
		on = forced
	}
	if !on {
		return faults.Never, 0
	}
	return r, mean
}

// stepHeadLoss runs every 100 ms: it may arm a head loss, and gives up one
// whose prepare never committed.
func (c *chaos) stepHeadLoss() {
	if c.opts.HeadLoss.Num == 0 {
		return
	}
	h := &c.headLoss
	arm := c.headLossPR.Chance(c.opts.HeadLoss)
	if h.phase == headLossWatching && c.sim.now-h.armedNs > headLossWatchNsMax {
		h.phase = headLossIdle
	}
	if arm && h.phase == headLossIdle && c.stats.HeadLosses < headLossesMax && c.aiming() && !c.scenarioQuiet() {
		h.phase, h.armedNs = headLossArmed, c.sim.now
	}
}

// headLossPrepare: primary from made the prepare hd. An armed head loss
// picks the replica whose disk will lose it and the holders, or waits for
// a later prepare if the cluster is not all up and normal in one view or
// no holder's disk may lose the slot.
func (c *chaos) headLossPrepare(from int, hd *vsr.Header) {
	h := &c.headLoss
	if h.phase != headLossArmed {
		return
	}
	n := c.sim.opts.Replicas
	pick := c.headLossPR.Uint64()
	var best []int
	loss := 0
	for i, r := range c.sim.replicas {
		rr := r.replica
		if r.down || r.paused || rr.Status() != vsr.StatusNormal || rr.View() != hd.View {
			return
		}
		switch l := r.storage.headLoss(hd.Op); {
		case l > loss:
			best, loss = append(best[:0], i), l
		case l == loss && l > 0:
			best = append(best, i)
		}
	}
	if loss == 0 || n < 3 {
		return
	}
	damaged := best[pick%uint64(len(best))]
	holders := uint8(1<<from | 1<<damaged)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	c.headLossPR.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	for _, i := range order {
		if popCountMask(holders) < vsr.QuorumReplication(n) {
			holders |= 1 << i
		}
	}
	*h = headLossState{phase: headLossWatching, armedNs: c.sim.now, primary: from, view: hd.View, op: hd.Op,
		holders: holders, damaged: damaged}
	c.sim.logf(logShort, "chaos: head loss: op %d of view %d reaches replicas %s only; replica %d's disk will lose it",
		hd.Op, hd.View, maskString(holders, n), damaged)
}

// headLossCut reports whether the copy of a prepare from replica from to
// replica to is cut: while a head loss watches, the primary's prepare of
// its op reaches the holders only, and those above it nobody (they are
// in flight when the power goes), so the op is the holders' head.
func (c *chaos) headLossCut(from, to int, hd *vsr.Header) bool {
	h := &c.headLoss
	if h.phase != headLossWatching || from != h.primary || hd.Command != vsr.CommandPrepare || hd.View != h.view {
		return false
	}
	return hd.Op > h.op || (hd.Op == h.op && h.holders&(1<<to) == 0)
}

// headLossCommitted: replica i committed op. Once the watched primary
// commits the watched op, the power loss comes in the same instant.
func (c *chaos) headLossCommitted(i int, op uint64) {
	h := &c.headLoss
	if h.phase != headLossWatching || i != h.primary || op < h.op {
		return
	}
	c.schedule(c.sim.now, h.primary, actionHeadLoss, 0)
}

// headLossStrike crashes the holders: the damaged one returns after
// exp(HeadLossNsMean), the others only after its recovery timeout and an
// election's time more.
func (c *chaos) headLossStrike() {
	h := &c.headLoss
	p := c.headLossPR
	firstNs := p.Exponential(c.opts.HeadLossNsMean)
	laterNs := p.Exponential(c.opts.HeadLossNsMean)
	bit := p.Uint64N(vsr.HeaderSize * 8)
	if h.phase != headLossWatching || !c.aiming() || c.scenarioQuiet() {
		h.phase = headLossIdle
		return
	}
	n := c.sim.opts.Replicas
	for i := range n {
		if h.holders&(1<<i) != 0 && c.sim.replicas[i].down {
			h.phase = headLossIdle // a holder crashed meanwhile: the power loss is another one
			return
		}
	}
	ro := c.sim.replicas[h.damaged].replica.Options()
	recoveryNs := uint64(ro.RecoveryTimeoutTicks+ro.JitterTicks) * tickNs
	for i := range n {
		if h.holders&(1<<i) == 0 {
			continue
		}
		downNs := firstNs + recoveryNs + electionNs + laterNs
		if i == h.damaged {
			downNs = firstNs
		}
		c.sim.crash(i, downNs)
	}
	lost := c.sim.replicas[h.damaged].storage.loseHead(h.op, bit)
	c.stats.HeadLosses++
	c.stats.HeadLossSlotsLost += uint64(lost / 2)
	c.sim.logf(logShort, "chaos: head loss: replicas %s lose power as op %d commits; replica %d's disk lost %d of its copies",
		maskString(h.holders, n), h.op, h.damaged, lost)
	*h = headLossState{phase: headLossIdle}
}

// headLossEvent is every replica's event hook: the commits the kind waits
// for.
func (c *chaos) headLossEvent(i int, e *vsr.Event) {
	if e.Kind == vsr.EventCommitted {
		c.headLossCommitted(i, e.Op)
	}
}

// headLoss reports how many of op's two journal copies (prepare, ring
// header) faults may strike on this disk, once both are written.
func (st *simStorage) headLoss(op uint64) int {
	prepare, header := st.headCopies(op)
	n := 0
	for _, offset := range []uint64{prepare, header} {
		if st.atlas.faultable(st.replica, offset) {
			n++
		}
	}
	return n
}

// headCopies returns where op's prepare and the ring sector holding its
// header lie.
func (st *simStorage) headCopies(op uint64) (prepare, header uint64) {
	l := &st.layout
	slot := op % l.JournalSlots
	return l.PreparesOffset + slot*l.PrepareSlotSize, l.HeadersOffset + slot/headersPerSector*vsr.SectorSize
}

// loseHead flips bit of op's prepare header and of its ring header, where
// faults may strike, and returns how many copies it damaged.
func (st *simStorage) loseHead(op, bit uint64) int {
	prepare, header := st.headCopies(op)
	slot := op % st.layout.JournalSlots
	lost := 0
	if st.atlas.faultable(st.replica, prepare) && st.Written(prepare) {
		st.FlipBit(prepare, bit)
		lost++
	}
	if st.atlas.faultable(st.replica, header) && st.Written(header) {
		st.FlipBit(header, slot%headersPerSector*vsr.HeaderSize*8+bit)
		lost++
	}
	return lost
}

// maskString lists the replicas of mask.
func maskString(mask uint8, n int) string {
	s := ""
	for i := range n {
		if mask&(1<<i) != 0 {
			s += fmt.Sprintf(" %d", i)
		}
	}
	return "[" + s[min(1, len(s)):] + "]"
}

// headLossRow is the options table's row for the kind (pct and sec: Rows'
// formats).
func (c *ChaosOptions) headLossRow(pct func(faults.Ratio) string, sec func(uint64) string) [2]string {
	return [2]string{"head loss per 100 ms", fmt.Sprintf("%s: first holder back after exp(%s)",
		pct(c.HeadLoss), sec(c.HeadLossNsMean))}
}
