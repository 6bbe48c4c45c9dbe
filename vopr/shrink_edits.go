package vopr

import (
	"fmt"

	"github.com/govsr/govsr/faults"
)

// The edits a shrink makes to a report's options. Each edits the recorded
// options in place of drawing them again from the seed: a fault kind
// turned off sets its rates to Never, and a PRNG draws as many numbers
// for a Never chance as for any other (faults.Chance), so every other
// stream of the run keeps its numbers.

// messageSizeNoSmallMessages is the message size a shrink sets when it
// turns small messages off: the smallest size the swarm draws without them.
const messageSizeNoSmallMessages = 4 << 10

// setNever sets every ratio of rs to Never.
func setNever(rs ...*faults.Ratio) {
	for _, r := range rs {
		*r = faults.Never
	}
}

// withoutKind returns o with fault kind turned off.
func withoutKind(o Options, kind string) Options {
	n, p, a := &o.Network, &o.Process, &o.Storage.Atlas
	switch kind {
	case "loss":
		setNever(&n.Loss)
	case "duplicate":
		setNever(&n.Duplicate)
	case "corrupt":
		setNever(&n.Corrupt)
	case "partition":
		setNever(&n.Partition)
	case "clog":
		setNever(&n.Clog)
	case "pause":
		setNever(&p.Pause)
	case "drift":
		p.ClockDriftPpmMax = 0
	case "crash":
		setNever(&p.Crash)
	case "storage":
		o.Storage.Faulty = false
	case writeErrorKind:
		setNever(&o.Storage.WriteError)
	case writeErrorBurstKind:
		setNever(&o.Storage.WriteErrorBurst)
	case "core":
		o.Liveness.Core = false
	default:
		withoutAtlasKind(a, kind)
		withoutChaosKind(&o, kind)
	}
	return o
}

// withoutAtlasKind turns a storage atlas kind off (other kinds: nothing).
func withoutAtlasKind(a *StorageAtlasOptions, kind string) {
	switch kind {
	case "superblock":
		a.Superblock = false
	case "slot-loss":
		a.SlotLoss, a.SlotLossDisks, a.SlotLossReplicas = false, 0, 0
	case "misdirect-far":
		a.MisdirectFar = false
	case "torn-sector":
		a.TornSector = faults.Never
	case "bit-rot":
		a.BitRot = faults.Never
	case "replace":
		a.Replace = faults.Never
	}
}

// withoutChaosKind turns a chaos kind off (other kinds: nothing). Load and
// long delays leave the clients, sessions and requests they raised: the
// shrink lowers those on their own.
func withoutChaosKind(o *Options, kind string) {
	c := &o.Chaos
	switch kind {
	case "client-links":
		setNever(&c.ClientCut)
	case "long-delay":
		setNever(&c.LongDelay, &c.LongDelayRequest, &c.LongDelayViewChange)
	case "target":
		setNever(&c.TargetPrepare, &c.TargetViewChange, &c.TargetRepair, &c.TargetCrash)
	case "crash-window":
		setNever(&c.CrashJournalWrite, &c.CrashSuperblockWrite, &c.CrashPrepareOk, &c.CrashViewChangeSent)
	case "crash-group":
		setNever(&c.CrashGroup, &c.CrashGroupAll, &c.CrashGroupAimed)
	case "churn":
		setNever(&c.Churn)
	case partitionRestartKind:
		setNever(&c.PartitionRestart)
	case headLossKind:
		setNever(&c.HeadLoss)
	case clientReplayKind:
		setNever(&c.ClientReplay)
	case tailsKind:
		setNever(&c.Tails)
	case stalePreparesKind:
		setNever(&c.StalePrepares)
	case nearTransferKind:
		setNever(&c.NearTransfer)
	case "small-messages":
		c.SmallMessages = false
		o.MessageSizeMax = max(o.MessageSizeMax, messageSizeNoSmallMessages)
	case "big-state":
		c.KeySizeMax, c.ValueSizeMax = 0, 0
	case "load":
		c.Load = false
	case "backlog":
		c.Backlog, c.BacklogQuiet, c.BacklogAtNs, c.BacklogOps, c.BacklogCrashNs, c.BacklogRestartNs = false, false, 0, 0, 0, 0
	}
}

// withClients returns o with n clients. Fewer sessions than clients stay
// fewer by as many, so that a failure that needs evictions keeps them.
func withClients(o Options, n int) Options {
	if o.ClientsMax < o.Clients {
		o.ClientsMax = max(1, n-(o.Clients-o.ClientsMax))
	}
	o.Clients = n
	return o
}

// withReplicas returns o with n replicas, or why the options cannot have
// so few. Slot loss is clamped to the disks there are; whole-disk storage
// faults, the liveness core and the chaos kinds aimed at a primary are
// drawn at run time from the replica count and need no edit. The kinds
// the swarm turns on only above a replica count (crash groups, churn,
// backlog) refuse fewer, rather than being turned off behind the fault
// kind steps' back.
func withReplicas(o Options, n int) (Options, error) {
	c := &o.Chaos
	switch {
	case n < 1:
		return o, fmt.Errorf("no replicas")
	case c.Backlog && n < 3:
		return o, fmt.Errorf("the backlog scenario needs 3 replicas")
	case c.Churn.Num > 0 && n < 3:
		return o, fmt.Errorf("view churn needs 3 replicas")
	case c.Tails.Num > 0 && n < 3:
		return o, fmt.Errorf("stale tails need 3 replicas")
	case c.CrashGroup.Num+c.CrashGroupAimed.Num > 0 && n < 2:
		return o, fmt.Errorf("crash groups need 2 replicas")
	}
	o.Replicas = n
	if a := &o.Storage.Atlas; a.SlotLoss {
		a.SlotLossDisks = min(a.SlotLossDisks, n)
	}
	return o, nil
}
