package vopr

import "testing"

// swarmBenchSeeds are the seeds BenchmarkSwarmSeeds runs: twenty
// consecutive seeds as `vopr swarm --from 1` draws them, so the benchmark
// weighs short and long runs, every fault kind and cluster shape the way
// a swarm does.
const swarmBenchSeeds = 20

// BenchmarkSwarmSeeds runs seeds 1 to 20 as drawn (a swarm's mix) and
// reports seeds per hour on one core beside simulated over wall time.
// Run: go test ./vopr -run '^$' -bench SwarmSeeds -benchmem -count 6
func BenchmarkSwarmSeeds(b *testing.B) {
	var seeds, simNs uint64
	for b.Loop() {
		for seed := uint64(1); seed <= swarmBenchSeeds; seed++ {
			s, err := New(Draw(seed, nil), nil, logNone)
			if err != nil {
				b.Fatal(err)
			}
			res := s.Run()
			seeds++
			simNs += res.TimeNs
		}
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(seeds)*3600/secs, "seeds/h")
	b.ReportMetric(float64(simNs)/1e9/secs, "sim/real")
}
