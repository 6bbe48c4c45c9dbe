package vopr

import (
	"fmt"

	"github.com/govsr/govsr/vsr"
)

// The liveness phase. After the safety phase the simulator heals a core of
// replicas and stops every new fault, and the clients finish what they
// have in flight (and start nothing new). Within LivenessTicksMax ticks
// every request must complete and every core replica must converge
// (checker_convergence.go).
//
// In core mode (Options.Liveness.Core, TigerBeetle's VOPR does the same) the
// core is a view-change quorum, the fewest replicas that can make progress
// alone: its members restart if down and resume if paused, their links to
// each other and to the clients heal, and their disks take no new faults.
// Every other replica is left for good as it is (down stays down, paused
// stays paused, partitioned stays partitioned, a faulty disk stays faulty)
// or is crashed, isolated or paused now, as the seed draws, so that the
// core must do its work without it. In heal-everything mode every replica
// is in the core.

// coreSize is how many replicas a core has: a view-change quorum.
func coreSize(replicas int) int { return vsr.QuorumViewChange(replicas) }

// fate is what becomes of a replica left out of the core.
type fate uint8

const (
	fateAsIs    fate = iota // whatever the safety phase left it as, for good
	fateCrash               // crashed now, never restarted
	fateIsolate             // every link to and from it cut, for good
	fatePause               // paused now, never resumed
	fateCount
)

var fateNames = [fateCount]string{fateAsIs: "as is", fateCrash: "crashed", fateIsolate: "isolated", fatePause: "paused"}

// startLiveness ends the safety phase: it heals the core and stops every
// fault, and tells the clients to start nothing new.
func (s *Simulator) startLiveness() {
	s.phase = phaseLiveness
	s.livenessStart = s.now
	s.core = s.chooseCore()
	if s.testAtLiveness != nil {
		s.testAtLiveness()
	}
	healed := make([]bool, len(s.replicas)+len(s.clients))
	for i := range healed {
		healed[i] = i >= len(s.replicas) || s.core[i]
	}
	s.net.stopFaults(healed)
	fates := s.root.Stream("liveness/fates")
	for i, r := range s.replicas {
		if !s.core[i] {
			s.leaveOut(i, fate(fates.IntN(int(fateCount))))
			continue
		}
		r.storage.stopFaults()
		if r.down {
			s.restart(i)
		}
		s.resume(i)
	}
	for _, c := range s.clients {
		c.stopped = true
	}
	s.logf(logShort, "liveness phase: faults off, core %v, %d replies so far", s.coreList(), s.replies)
}

// chooseCore picks the replicas the liveness phase heals: all of them in
// heal-everything mode; else a view-change quorum, drawn from the seed
// among the replicas whose disks the fault atlas spared first, so that the
// core rarely lacks data only faulty disks held, and among those the
// replicas not waiting with a faulty journal first.
func (s *Simulator) chooseCore() []bool {
	n := len(s.replicas)
	core := make([]bool, n)
	if !s.opts.Liveness.Core {
		for i := range core {
			core[i] = true
		}
		return core
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	s.root.Stream("liveness/core").Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	picked := 0
	for _, healthy := range []bool{true, false} {
		for _, waiting := range []bool{false, true} {
			for _, i := range order {
				if picked < coreSize(n) && !core[i] && s.diskHealthy(i) == healthy && s.waitsWithFaultyJournal(i) == waiting {
					core[i] = true
					picked++
				}
			}
		}
	}
	if picked != coreSize(n) {
		panic("vopr: the liveness core is not a view-change quorum")
	}
	return core
}

// waitsWithFaultyJournal reports whether replica i is recovering with a
// journal whose head it cannot know: it takes no part in a view change
// until a primary answers it. Among disks alike, the core prefers the
// others, so that a core that could elect is checked rather than a stall
// excused (a replica down now is not known to wait: its open decides).
func (s *Simulator) waitsWithFaultyJournal(i int) bool {
	r := s.replicas[i]
	rr := r.replica
	return !r.down && !rr.Opening() && rr.OpenError() == nil && rr.Status() == vsr.StatusRecovering && rr.JournalFaulty()
}

// diskHealthy reports whether replica i's disk is spared by the fault
// atlas: it holds everything it acknowledged.
func (s *Simulator) diskHealthy(i int) bool {
	a := s.storageAtlas
	return !s.replicas[i].storage.faulty && (a == nil || !a.struck(i) && !a.replaced[i])
}

// leaveOut applies a non-core replica's fate. Its pending restart or
// resume, if any, will do nothing (frozen).
func (s *Simulator) leaveOut(i int, f fate) {
	r := s.replicas[i]
	switch {
	case f == fateCrash && !r.down:
		s.crash(i, 0)
	case f == fateIsolate:
		s.net.isolate(i)
	case f == fatePause && !r.down && !r.paused:
		r.paused, r.pausedAtNs = true, s.now
		s.stats.Pauses++
	}
	s.logf(logShort, "replica %d left out of the core: %s (down=%v paused=%v)", i, fateNames[f], r.down, r.paused)
}

// frozen reports whether replica i was left out of the liveness phase's
// core: it neither restarts nor resumes any more.
func (s *Simulator) frozen(i int) bool { return s.core != nil && !s.core[i] }

func (s *Simulator) coreList() string {
	var list []int
	for i, in := range s.core {
		if in {
			list = append(list, i)
		}
	}
	return fmt.Sprint(list)
}
