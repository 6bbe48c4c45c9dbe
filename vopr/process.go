package vopr

import (
	"fmt"

	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/kv"
)

// simReplica is a replica with its process: it may be paused (it hears
// nothing until it resumes, then everything that arrived meanwhile) or
// crashed (its writes in flight tear; it restarts from its disk later).
type simReplica struct {
	index       int
	replica     *vsr.Replica
	machine     *kv.Store
	storage     *simStorage
	opts        vsr.Options
	tickNs      uint64 // this replica's tick period, drift included
	paused      bool
	down        bool
	incarnation int
	buffers     *vsr.Buffers // the large buffers of its incarnations, reused from one to the next
	held        []event      // deliveries and completions that arrived while paused
	heldBytes   int          // of the held deliveries' messages, at most heldBytesMax
	pausedAtNs  uint64
}

// heldBytesMax bounds what a paused replica's links hold for it (its
// socket buffers): a delivery beyond it is dropped. Far above what a pause
// collects at ordinary load, it bounds the backlog of a long pause under
// high load.
const heldBytesMax = 64 << 20

// replicaOptions are the vsr options of replica i for this run.
func (s *Simulator) replicaOptions(i int) vsr.Options {
	o := vsr.DefaultOptions(s.clusterID(), uint8(i), uint8(s.opts.Replicas))
	o.PipelineMax, o.JournalSlots = s.opts.PipelineMax, s.opts.JournalSlots
	o.ClientsMax, o.RequestQueueMax = s.opts.ClientsMax, s.opts.RequestQueueMax
	o.MessageSizeMax = s.opts.MessageSizeMax
	o.CheckpointSizeMax = vsr.CheckpointSizeFor(o.ClientsMax, o.MessageSizeMax, s.newMachine().SnapshotSizeMax())
	if bug, err := vsr.ParseBug(s.opts.Bug); err == nil {
		o.TestingBug = bug
	}
	if s.tune != nil {
		s.tune(&o)
	}
	return o
}

func (s *Simulator) newMachine() *kv.Store {
	machine, err := kv.New(s.opts.kvOptions())
	if err != nil {
		panic("vopr: kv options: " + err.Error())
	}
	return machine
}

// faultyDisks is how many replicas' disks may take storage faults: few
// enough that every committed op survives somewhere and the clean replicas
// can elect a primary after a whole-cluster restart.
func faultyDisks(replicas int) int {
	return min(vsr.QuorumReplication(replicas)-1, replicas-vsr.QuorumViewChange(replicas))
}

func (s *Simulator) buildReplicas() error {
	drift := s.root.Stream("clock-drift")
	atlas := s.root.Stream("atlas")
	faulty := make([]bool, s.opts.Replicas)
	if s.opts.Storage.Faulty {
		for range faultyDisks(s.opts.Replicas) {
			faulty[atlas.IntN(s.opts.Replicas)] = true
		}
	}
	s.storageAtlas = newAtlas(s, faulty)
	for i := range s.opts.Replicas {
		o := s.replicaOptions(i)
		st, err := newSimStorage(s, i, o, faulty[i], s.storageAtlas)
		if err != nil {
			return err
		}
		ppm := int64(0)
		if max := int64(s.opts.Process.ClockDriftPpmMax); max > 0 {
			ppm = int64(drift.Range(0, uint64(2*max))) - max
		}
		r := &simReplica{index: i, storage: st, opts: o, tickNs: uint64(int64(tickNs) + int64(tickNs)*ppm/1_000_000),
			buffers: s.arena.buffers(i)}
		s.replicas = append(s.replicas, r)
		r.machine = s.newMachine()
		r.replica, err = vsr.NewReplica(o, s.replicaEnv(r))
		if err != nil {
			return err
		}
		s.queue.push(event{at: r.tickNs, kind: eventReplicaTick, a: i})
	}
	return nil
}

func (s *Simulator) replicaEnv(r *simReplica) vsr.Env {
	index := r.index
	return vsr.Env{
		Bus: &replicaBus{net: s.net, node: index, headers: &s.sentHeaders}, Storage: r.storage, StateMachine: s.machineFor(index, r.machine),
		Random: s.root.Stream(fmt.Sprintf("replica-%d/incarnation-%d", index, r.incarnation)), Buffers: r.buffers,
		Hook: func(e *vsr.Event) {
			s.check.onEvent(index, e)
			s.chaos.headLossEvent(index, e)
			s.chaos.replayEvent(index, e)
			if s.tap != nil {
				s.tap(index, e)
			}
			if s.timeline != nil {
				s.timeline.onEvent(index, e)
			}
		},
	}
}

func (s *Simulator) replicaTick(e *event) {
	r := s.replicas[e.a]
	s.queue.pushReplicaTick(e.a, s.now+r.tickNs)
	if e.a == 0 {
		s.stats.Ticks++
	}
	if r.paused || r.down {
		return
	}
	r.replica.Tick()
}

func (s *Simulator) deliver(e *event) {
	through := s.net.arrive(e.a, e.b)
	if e.tag != 0 {
		s.chaos.delivered(e, through) // a long-delayed message
	}
	if !through {
		s.net.recycle(e.data)
		return
	}
	if e.b < s.opts.Replicas {
		r := s.replicas[e.b]
		switch {
		case r.down:
			s.stats.Network.Dropped++
		case r.paused && s.frozen(e.b):
			s.stats.Network.Dropped++ // it never resumes: holding the message would only grow memory
		case r.paused && r.heldBytes+len(e.data) > heldBytesMax:
			s.stats.Network.Dropped++
			s.stats.Network.DroppedCapacity++
		case r.paused:
			r.held = append(r.held, *e)
			r.heldBytes += len(e.data)
			return
		default:
			r.replica.Receive(e.data)
		}
	} else {
		s.clients[e.b-s.opts.Replicas].client.Receive(e.data)
	}
	s.net.recycle(e.data)
}

// storageDone completes an I/O at the disk; the process hears of it now,
// or when it resumes. An I/O a crash ended completes nothing.
func (s *Simulator) storageDone(e *event) {
	if s.script != nil && s.script.holdIO(e) {
		return
	}
	r := s.replicas[e.a]
	tag, err, ok := r.storage.Complete(e.tag)
	if !ok {
		return
	}
	if r.paused {
		held := event{at: s.now, kind: eventStorage, a: e.a, tag: tag}
		if err != nil {
			held.b = 1
		}
		r.held = append(r.held, held)
		return
	}
	r.replica.StorageDone(tag, err)
}

// step draws the processes' faults for the next 100 ms (and the
// network's). Every draw is made whatever the state, so one fault's timing
// never shifts another's.
func (s *Simulator) step() {
	s.queue.push(event{at: s.now + stepNs, kind: eventStep})
	s.net.step()
	p := &s.opts.Process
	for i, r := range s.replicas {
		// Durations drawn now, computed only for a fault that strikes.
		pause, pauseNs := s.process.Chance(p.Pause), s.process.DrawExponential(p.PauseNsMean)
		crash, downNs := s.process.Chance(p.Crash), s.process.DrawExponential(p.RestartNsMean)
		if s.phase != phaseSafety || r.down || s.chaos.scenarioQuiet() {
			continue
		}
		switch {
		case crash:
			s.crash(i, downNs.Value())
		case pause && !r.paused:
			r.paused, r.pausedAtNs = true, s.now
			s.stats.Pauses++
			pauseNs := pauseNs.Value()
			s.queue.push(event{at: s.now + pauseNs, kind: eventResume, a: i})
			s.logf(logShort, "replica %d paused for %d ms", i, pauseNs/1_000_000)
		}
	}
	s.stepStorage()
	s.chaos.step()
}

// crash stops replica i as a power loss would; it restarts after downNs.
func (s *Simulator) crash(i int, downNs uint64) {
	s.crashNow(i)
	s.queue.push(event{at: s.now + downNs, kind: eventRestart, a: i})
	s.logf(logShort, "replica %d crashed; restarts in %d ms", i, downNs/1_000_000)
}

// crashNow stops replica i as a power loss would; its caller restarts it.
func (s *Simulator) crashNow(i int) {
	r := s.replicas[i]
	r.down, r.paused = true, false
	for k := range r.held {
		if r.held[k].kind == eventDeliver {
			s.net.recycle(r.held[k].data)
		}
	}
	r.held, r.heldBytes = nil, 0
	r.storage.Crash()
	s.stats.Crashes++
}

// restart opens replica i from its disk with a fresh state machine.
func (s *Simulator) restart(i int) {
	r := s.replicas[i]
	if !r.down || s.frozen(i) {
		return // the liveness phase restarted it already, or left it down
	}
	r.storage.rotAtRestart()
	s.audit(i)
	s.replaceDisk(i)
	r.incarnation++
	r.machine = s.newMachine()
	r.buffers.Reclaim() // the crashed incarnation is replaced here, never to run again
	replica, err := vsr.OpenReplica(r.opts, s.replicaEnv(r))
	if err != nil {
		panic("vopr: OpenReplica: " + err.Error())
	}
	r.replica, r.down = replica, false
	s.stats.Restarts++
	s.logf(logShort, "replica %d restarts (incarnation %d)", i, r.incarnation)
}

// resume ends replica i's pause: what arrived meanwhile is handled now, in
// arrival order.
func (s *Simulator) resume(i int) {
	r := s.replicas[i]
	if !r.paused || s.frozen(i) {
		return
	}
	r.paused = false
	held := r.held
	r.held, r.heldBytes = nil, 0
	for k := range held {
		e := &held[k]
		if e.kind == eventStorage {
			var err error
			if e.b == 1 {
				err = vsr.ErrReadFault
			}
			r.replica.StorageDone(e.tag, err)
		} else {
			r.replica.Receive(e.data)
			s.net.recycle(e.data)
		}
	}
	s.logf(logShort, "replica %d resumed after %d ms", i, (s.now-r.pausedAtNs)/1_000_000)
}
