package vopr

import (
	"testing"
)

// standardOptions is the benchmark's standard seed: seed 1's draws with
// 3 replicas, 4 clients and 2,000 requests, every fault kind on but the
// chaos kinds (off, so the numbers compare with earlier ones).
func standardOptions() Options {
	all := chaosOff()
	for _, k := range FaultKinds {
		if _, chaos := all[k]; !chaos {
			all[k] = true
		}
	}
	o := Draw(1, all)
	o.Replicas, o.Clients, o.ClientsMax = 3, 4, 32
	o.RequestsMax = 2000
	return o
}

// BenchmarkStandardSeed runs the standard seed to its verdict and reports
// simulated ticks per wall second and simulated time over wall time (and
// over CPU time, which a loaded machine disturbs less).
// Run: go test ./vopr -run '^$' -bench StandardSeed -count 6
func BenchmarkStandardSeed(b *testing.B) {
	o := standardOptions()
	cpu := startCPUClock()
	var ticks, simNs uint64
	for b.Loop() {
		s, err := New(o, nil, logNone)
		if err != nil {
			b.Fatal(err)
		}
		res := s.Run()
		if res.Class != Pass {
			b.Fatalf("standard seed failed: %s %s", res.Class, res.Message)
		}
		ticks += res.Tick
		simNs += res.TimeNs
	}
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(ticks)/secs, "ticks/s")
	b.ReportMetric(float64(simNs)/1e9/secs, "sim/real")
	b.ReportMetric(float64(simNs)/1e9/cpu.seconds(), "sim/cpu")
}
