package vopr

import (
	"syscall"
	"testing"
	"time"
)

// swarmBenchSeeds are the seeds BenchmarkSwarmSeeds runs: consecutive
// seeds from 1 as `vopr swarm --from 1` draws them, so the benchmark
// weighs short and long runs, fault kinds and cluster shapes the way a
// swarm does.
const swarmBenchSeeds = 20

// BenchmarkSwarmSeeds runs seeds 1 to 20 as drawn (a swarm's mix), one
// after another in one Arena as a swarm worker does, and reports seeds per
// hour on one core, by wall time and by CPU time.
// Run: go test ./vopr -run '^$' -bench SwarmSeeds -benchmem -count 6
func BenchmarkSwarmSeeds(b *testing.B) {
	cpu := startCPUClock()
	var seeds, simNs uint64
	arena := NewArena()
	for b.Loop() {
		for seed := uint64(1); seed <= swarmBenchSeeds; seed++ {
			s, err := NewIn(arena, Draw(seed, nil), nil, logNone)
			if err != nil {
				b.Fatal(err)
			}
			res := s.Run()
			seeds++
			simNs += res.TimeNs
		}
	}
	secs, cpuSecs := b.Elapsed().Seconds(), cpu.seconds()
	b.ReportMetric(float64(seeds)*3600/secs, "seeds/h")
	b.ReportMetric(float64(seeds)*3600/cpuSecs, "seeds/cpu-h")
	b.ReportMetric(float64(simNs)/1e9/secs, "sim/real")
}

// cpuClock measures the CPU time the process spends (every thread: the
// collector's too). On a loaded machine wall time says more about the
// neighbours than about the simulator; CPU time much less so.
type cpuClock struct{ start time.Duration }

func startCPUClock() cpuClock { return cpuClock{start: processCPU()} }

func (c cpuClock) seconds() float64 { return (processCPU() - c.start).Seconds() }

func processCPU() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
