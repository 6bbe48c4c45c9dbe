package vopr

import (
	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// Aimed faults: the simulator watches what replicas send and strikes in
// the windows where independent per-step draws almost never land.

// aimedCut: copies of one broadcast (a prepare, a start_view) from one
// replica reach only the replicas in allow; the rest are cut. It lasts
// until the aimed action that follows it runs (the same instant).
type aimedCut struct {
	from     int
	checksum vsr.U128
	allow    uint8
}

// headerCommandOffset is where a header holds its command byte (vsr's
// wire format; TestHeaderCommandOffset checks it), so the watcher skips
// the messages it does not aim at without decoding them.
const headerCommandOffset = 152

// observe watches a message replica from sends to replica to, and reports
// whether an aimed fault cuts this copy.
func (c *chaos) observe(from, to int, message []byte) bool {
	command := vsr.Command(message[headerCommandOffset])
	switch command {
	case vsr.CommandDoViewChange, vsr.CommandStartView, vsr.CommandCheckpoint:
	case vsr.CommandPrepare, vsr.CommandPrepareOk, vsr.CommandRequestPrepare, vsr.CommandRequestHeaders,
		vsr.CommandCommit:
		if !c.watch {
			return false
		}
	default:
		return false
	}
	h, err := c.sim.sentHeaders.decode(message)
	if err != nil {
		panic("vopr: a replica sent a message whose header does not decode: " + err.Error())
	}
	body := message[vsr.HeaderSize:h.Size]
	if command == vsr.CommandPrepare {
		c.rememberPrepare(&h, message)
	}
	if c.staleSent(from, to, &h) || c.nearTransferSent(from, to, &h) {
		return true
	}
	if c.tailsSent(from, &h) {
		return c.cut(from, to, h.Checksum)
	}
	switch command {
	case vsr.CommandCheckpoint:
		c.stats.CheckpointChunks++
		c.stats.CheckpointBytesMax = max(c.stats.CheckpointBytesMax, h.Timestamp)
	case vsr.CommandDoViewChange:
		c.meter.doViewChange(from, &h)
		c.onDoViewChange(from, &h)
	case vsr.CommandStartView:
		c.meter.startView(&c.stats, &h, body)
		c.onStartView(from, &h)
	case vsr.CommandPrepare:
		c.onPrepare(from, &h)
	case vsr.CommandPrepareOk:
		c.maybeCrashSent(from, c.opts.CrashPrepareOk, crashPrepareOk)
	case vsr.CommandCommit:
		c.churnSent(from, &h)
	default: // request_prepare, request_headers: a replica repairs
		c.onRepair(from)
	}
	return c.cut(from, to, h.Checksum) || c.headLossCut(from, to, &h)
}

// cut reports whether an aimed cut stops this copy.
func (c *chaos) cut(from, to int, checksum vsr.U128) bool {
	for _, k := range c.cuts {
		if k.from == from && k.checksum == checksum && k.allow&(1<<to) == 0 {
			c.stats.AimedCuts++
			return true
		}
	}
	return false
}

// aiming reports whether a targeted fault may strike now.
func (c *chaos) aiming() bool {
	return c.sim.phase == phaseSafety && c.sim.now >= c.quietUntilNs && !c.sim.net.faultsOff
}

// onPrepare: a primary that just made a prepare (not a retry, not a
// repair) may be crashed or isolated at once, the prepare reaching only
// some backups.
func (c *chaos) onPrepare(from int, h *vsr.Header) {
	rr := c.sim.replicas[from].replica
	if h.Replica != uint8(from) || !rr.IsPrimary() || rr.Status() != vsr.StatusNormal || h.Op != rr.Op() ||
		h.Checksum == c.lastPrepare[from] {
		return
	}
	c.lastPrepare[from] = h.Checksum
	c.headLossPrepare(from, h)
	if c.churnSent(from, h) {
		return
	}
	if c.opts.TargetPrepare.Num == 0 || !c.aim.Chance(c.opts.TargetPrepare) || !c.aiming() {
		return
	}
	c.stats.TargetPrepare++
	c.strike(from, h.Checksum)
}

// onStartView: a new primary's start_view: the targeted kind may strike
// it, and view churn isolates it.
func (c *chaos) onStartView(from int, h *vsr.Header) {
	if h.Replica != uint8(from) || c.lastStartView[from] == h.View+1 {
		return
	}
	c.lastStartView[from] = h.View + 1
	c.maybeCrashSent(from, c.opts.CrashViewChangeSent, crashViewChangeSent)
	if c.churnSent(from, h) {
		return
	}
	if c.opts.TargetViewChange.Num == 0 || !c.aim.Chance(c.opts.TargetViewChange) || !c.aiming() {
		return
	}
	c.stats.TargetViewChange++
	c.strike(from, h.Checksum)
}

func (c *chaos) onDoViewChange(from int, h *vsr.Header) {
	if c.lastDoViewChange[from] == h.View+1 {
		return
	}
	c.lastDoViewChange[from] = h.View + 1
	c.maybeCrashSent(from, c.opts.CrashViewChangeSent, crashViewChangeSent)
	if c.opts.TargetViewChange.Num == 0 || !c.aim.Chance(c.opts.TargetViewChange) || !c.aiming() {
		return
	}
	c.stats.TargetViewChange++
	c.strike(from, vsr.U128{})
}

// onRepair: a replica asks a peer for prepares or headers; the primary of
// its view may be struck while it repairs.
func (c *chaos) onRepair(from int) {
	if c.opts.TargetRepair.Num == 0 || !c.aim.Chance(c.opts.TargetRepair) || !c.aiming() {
		return
	}
	rr := c.sim.replicas[from].replica
	primary := int(rr.View() % uint32(c.sim.opts.Replicas))
	if primary == from || c.sim.replicas[primary].down {
		return
	}
	c.stats.TargetRepair++
	c.strike(primary, vsr.U128{})
}

// strike crashes or isolates replica i right after its current input. If
// checksum is set, the copies of that message it is broadcasting reach
// only a random subset of its peers.
func (c *chaos) strike(i int, checksum vsr.U128) {
	crash := c.aim.Chance(c.opts.TargetCrash)
	isolateNs := c.aim.Exponential(c.opts.TargetIsolateNsMean)
	gapNs := c.aim.Exponential(c.opts.TargetGapNsMean)
	allow := subset(c.aim, c.sim.opts.Replicas, i)
	c.quietUntilNs = c.sim.now + gapNs
	c.addCut(i, checksum, allow)
	if crash {
		c.scheduleCrash(c.sim.now, i, crashTarget)
		return
	}
	c.stats.TargetIsolations++
	c.schedule(c.sim.now, i, actionIsolate, isolateNs)
}

// maybeCrashSent crashes replica i right after a message that depends on
// a durable write (the crash-window kind).
func (c *chaos) maybeCrashSent(i int, ratio faults.Ratio, reason int) {
	if ratio.Num == 0 || !c.window.Chance(ratio) || c.sim.phase != phaseSafety {
		return
	}
	c.scheduleCrash(c.sim.now, i, reason)
}

// onWrite: replica i submitted a write to zone that completes at doneNs;
// the crash-window kind may crash it before then.
func (c *chaos) onWrite(i int, zone vsr.Zone, doneNs uint64) {
	ratio, reason := c.opts.CrashJournalWrite, crashJournalWrite
	if zone == vsr.ZoneSuperblock || zone == vsr.ZoneCheckpoint {
		ratio, reason = c.opts.CrashSuperblockWrite, crashSuperblockWrite
	}
	if ratio.Num == 0 {
		return
	}
	crash := c.window.Chance(ratio)
	at := c.sim.now + c.window.Uint64N(max(1, doneNs-c.sim.now))
	if !crash || c.sim.phase != phaseSafety {
		return
	}
	c.scheduleCrash(at, i, reason)
}

// addCut cuts the copies of checksum from replica i to all but allow.
// Cuts last only until the action that follows them, so few are ever
// pending; the bound is a backstop.
func (c *chaos) addCut(i int, checksum vsr.U128, allow uint8) {
	if checksum.IsZero() {
		return
	}
	if len(c.cuts) == cutsMax {
		c.cuts = append(c.cuts[:0], c.cuts[1:]...)
	}
	c.cuts = append(c.cuts, aimedCut{from: i, checksum: checksum, allow: allow})
}

const cutsMax = 16

// actionDone drops the cuts of replica i once its aimed action ran.
func (c *chaos) actionDone(i int) {
	kept := c.cuts[:0]
	for _, k := range c.cuts {
		if k.from != i {
			kept = append(kept, k)
		}
	}
	c.cuts = kept
}
