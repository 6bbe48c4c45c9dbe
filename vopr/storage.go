package vopr

import (
	"fmt"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// simStorage is one replica's simulated disk: a vsr.MemoryStorage whose
// I/O completes after a latency of minimum + exponential (so completions
// reorder), and which may be one of the seed's faulty disks.
//
// The whole-disk atlas (StorageOptions.Faulty, and all that a seed report
// predating StorageAtlasOptions knows): storage faults (read errors, bit
// flips, misdirected writes) strike the disks of at most
// min(replication quorum - 1, replicas - view-change quorum) replicas, so
// every committed op stays intact on at least one replica that holds it,
// and the replicas with clean disks can still form a view-change quorum
// after the whole cluster restarts. On a faulty disk they strike the
// checkpoint areas and one of the journal's two copies, prepares or
// headers ring, never both: each acknowledged prepare keeps one copy that
// names it, so the disk can always tell it once held it. Torn and lost
// writes at a crash hit every disk. With any StorageAtlasOptions on, the
// atlas of vopr/atlas.go decides instead, and storage_faults.go adds its
// faults.
type simStorage struct {
	*vsr.MemoryStorage
	sim      storageSim
	opts     *StorageOptions
	sizeMax  uint32           // the largest message, to decode what the disk holds
	promises diskWriteWatcher // the promises checker
	chaos    diskWriteAimer   // the chaos scenarios
	replica  int
	latency  *faults.PRNG
	draws    *faults.PRNG // the whole-disk atlas's zone and misdirect draws
	layout   vsr.Layout
	faulty   bool
	faults   vsr.MemoryFaults
	journal  vsr.Zone // on a faulty disk, the one journal zone faults may strike
	// atlas is where faults may strike every disk of the run, for the
	// StorageAtlasOptions (vopr/atlas.go); streams are this disk's draws.
	atlas    *atlas
	streams  atlasStreams
	recent   [recentWrites]uint64 // offsets of the latest writes, a ring
	recentAt int
	doneNs   uint64 // when the I/O submitted last completes
}

// storageSim is all a disk asks of the simulator: the time, the event queue
// (completions) and the log.
type storageSim interface {
	clock
	scheduler
	logger
}

// diskWriteWatcher sees every write a replica submits (the promises
// checker).
type diskWriteWatcher interface {
	onWrite(i int, offset uint64, data []byte)
}

// diskWriteAimer may aim a crash at a write in flight (the chaos
// scenarios).
type diskWriteAimer interface {
	onWrite(i int, zone vsr.Zone, doneNs uint64)
}

func newSimStorage(s *Simulator, replica int, o vsr.Options, faulty bool, a *atlas) (*simStorage, error) {
	st := &simStorage{sim: s, opts: &s.opts.Storage, sizeMax: s.opts.MessageSizeMax, promises: &s.check.promises,
		chaos: s.chaos, replica: replica, layout: vsr.NewLayout(o), faulty: faulty, atlas: a,
		streams: newAtlasStreams(s, replica),
		latency: s.root.Stream(fmt.Sprintf("storage/replica-%d/latency", replica)),
		draws:   s.root.Stream(fmt.Sprintf("storage/replica-%d/atlas", replica))}
	st.journal = vsr.ZonePrepares
	if st.draws.Bool() {
		st.journal = vsr.ZoneHeaders
	}
	if s.opts.Storage.Atlas.any() {
		st.faults, st.faulty = st.atlasFaults(), a.struck(replica)
	} else if faulty {
		so := &s.opts.Storage
		st.faults = vsr.MemoryFaults{
			ReadErrorPerMillion: perMillion(so.ReadError), CorruptPerMillion: perMillion(so.Corrupt),
			MisdirectPerMillion: perMillion(so.Misdirect), Faulty: st.faultable, Misdirect: st.misdirect,
		}
	}
	st.faults.WriteError = st.writeErrorFault(s.root.Stream(fmt.Sprintf("storage/replica-%d/write-error", replica)),
		st.writeErrorBurstStream(s.root, replica))
	st.MemoryStorage = vsr.NewMemoryStorage(s.root.Stream(fmt.Sprintf("storage/replica-%d/faults", replica)), st.faults)
	st.OnSubmit = st.schedule
	sectors, err := vsr.FormatDataFile(o)
	if err != nil {
		return nil, err
	}
	st.Load(sectors)
	return st, nil
}

func perMillion(r faults.Ratio) uint64 { return uint64(r.Num) * 1_000_000 / uint64(r.Den) }

// schedule sets the completion time of a submitted I/O.
func (st *simStorage) schedule(id uint64) {
	o := st.opts
	at := st.sim.nowNs() + o.WriteLatencyNsMin + st.latency.Exponential(o.WriteLatencyNsMean)
	st.doneNs = at
	st.sim.schedule(event{at: at, kind: eventStorage, a: st.replica, tag: id})
}

// Write records where the replica writes (bit rot aims at recent writes),
// submits it, and lets the crash-window kind aim a crash at the time it is
// in flight.
func (st *simStorage) Write(offset uint64, data []byte, tag uint64) {
	st.recent[st.recentAt%recentWrites] = offset
	st.recentAt++
	st.promises.onWrite(st.replica, offset, data)
	st.MemoryStorage.Write(offset, data, tag)
	zone, _ := st.layout.ZoneOf(offset)
	st.chaos.onWrite(st.replica, zone, st.doneNs)
}

// faultable: the atlas lets faults strike the checkpoint areas and one
// journal zone; never the superblock, whose copies are all rewritten at
// each update (crash tearing covers it).
func (st *simStorage) faultable(offset uint64) bool {
	zone, _ := st.layout.ZoneOf(offset)
	return zone == st.journal || zone == vsr.ZoneCheckpoint
}

// misdirect picks where a misdirected write lands: another piece of the
// same zone, at the same offset within it.
func (st *simStorage) misdirect(offset, _ uint64) (uint64, bool) {
	zone, index := st.layout.ZoneOf(offset)
	l := &st.layout
	switch zone {
	case vsr.ZonePrepares:
		other := st.draws.Uint64N(l.JournalSlots)
		return offset - index*l.PrepareSlotSize + other*l.PrepareSlotSize, other != index
	case vsr.ZoneHeaders:
		sectors := (l.PreparesOffset - l.HeadersOffset) / vsr.SectorSize
		other := st.draws.Uint64N(sectors)
		return l.HeadersOffset + other*vsr.SectorSize, other != index
	}
	return offset, false
}

// stopFaults is the liveness phase: the disk heals.
func (st *simStorage) stopFaults() { st.SetFaults(vsr.MemoryFaults{}) }

// faultCount sums the faults this disk injected.
func (st *simStorage) faultCount() uint64 {
	m := st.Stats()
	return m.ReadErrors + m.Corruptions + m.Misdirected + m.WriteErrors
}
