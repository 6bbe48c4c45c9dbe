package vsr

import (
	"fmt"
	"slices"
	"testing"
)

// chaos drives a test network with seeded faults: random loss,
// duplication, reordering and partitions, then heals and requires every
// client to finish. It is a cheap stand-in for the simulator inside the
// package's own tests.
type chaos struct {
	net     *testNet
	rng     splitMix
	lossPct uint64
	dupPct  uint64
	clients []*Client
	inputs  int
}

func newChaos(t testing.TB, seed uint64, replicas, clients int) *chaos {
	ch := &chaos{rng: splitMix{state: seed}}
	ch.net = newTestNet(t, replicas, func(o *Options) { o.PipelineMax = 4; o.ClientsMax = 8 })
	ch.lossPct = ch.rng.Uint64() % 20
	ch.dupPct = ch.rng.Uint64() % 10
	for i := range clients {
		ch.clients = append(ch.clients, ch.net.addClient(uint64(i+1)))
	}
	ch.net.drop = func(p *packet) bool { return ch.rng.Uint64()%100 < ch.lossPct }
	return ch
}

// stepRandom delivers one random packet of the queue (reordering), maybe
// twice (duplication).
func (ch *chaos) stepRandom() {
	net := ch.net
	net.completeIO()
	if len(net.queue) == 0 {
		return
	}
	i := int(ch.rng.Uint64() % uint64(len(net.queue)))
	p := net.queue[i]
	if ch.rng.Uint64()%100 >= ch.dupPct {
		net.queue = slices.Delete(net.queue, i, i+1)
	}
	net.queue = append([]packet{p}, net.queue...)
	net.step()
}

func (ch *chaos) tick(faults bool) {
	net := ch.net
	for _, r := range net.replicas {
		r.Tick()
	}
	for _, c := range ch.clients {
		c.Tick()
		if !c.Busy() {
			if !c.Registered() {
				_ = c.Register()
			} else {
				ch.inputs++
				_, _ = c.Submit(OperationUserMin, []byte(fmt.Sprintf("%s-%d", c.ID().Short(), ch.inputs)))
			}
		}
	}
	if faults && ch.rng.Uint64()%200 == 0 {
		i := ch.rng.Uint64() % uint64(len(net.replicas))
		net.partitioned[i] = !net.partitioned[i]
	}
	for range len(net.queue) + 1 {
		ch.stepRandom()
	}
	if len(net.queue) > 10_000 {
		net.t.Fatal("network queue grew without bound")
	}
}

func runChaos(t *testing.T, seed uint64) *testNet {
	return playChaos(newChaos(t, seed, 1+int(seed%6), 3))
}

// playChaos runs a chaos scenario: faults, then a heal after which every
// client must finish.
func playChaos(ch *chaos) *testNet {
	for range 3000 {
		ch.tick(true)
	}
	// Heal: no partitions, no loss; every client must finish.
	ch.net.partitioned = [ReplicasMax]bool{}
	ch.lossPct, ch.dupPct = 0, 0
	for _, c := range ch.clients {
		c := c
		if c.Busy() {
			ch.net.run(20_000, "client finishes after heal", func() bool {
				if !c.Busy() {
					return true
				}
				ch.tick(false)
				return false
			})
		}
	}
	ch.net.checkAgreement()
	return ch.net
}

func TestChaosSeeds(t *testing.T) {
	seeds := 60
	if testing.Short() {
		seeds = 12
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			net := runChaos(t, seed)
			if len(net.applied(0)) == 0 && len(net.replicas) > 0 {
				executed := 0
				for i := range net.replicas {
					executed = max(executed, len(net.applied(i)))
				}
				if executed == 0 {
					t.Fatalf("no request executed\n%s", net.describe())
				}
			}
		})
	}
}

// TestDeterminism runs the same chaotic scenario twice: every message sent,
// in order, must be identical.
func TestDeterminism(t *testing.T) {
	for _, seed := range []uint64{3, 4, 11} {
		a, b := runChaos(t, seed), runChaos(t, seed)
		if a.digest != b.digest || !slices.Equal(a.sent, b.sent) {
			t.Fatalf("seed %d: runs differ: digest %s vs %s, %d vs %d messages", seed, a.digest, b.digest, len(a.sent), len(b.sent))
		}
		c := runChaos(t, seed+100)
		if c.digest == a.digest {
			t.Fatalf("seeds %d and %d gave the same digest: the digest does not see the run", seed, seed+100)
		}
	}
}
