package chaos

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr/bus"
)

// rates are one round's bus faults, drawn swarm-style: each kind is on or
// off, and at its own rate when on.
type rates struct {
	drop, delay, corrupt, isolate faults.Ratio
	delayMean, isolateMean        time.Duration
}

func drawRates(random *faults.PRNG) rates {
	on := faults.Ratio{Num: 3, Den: 4}
	r := rates{drop: faults.Never, delay: faults.Never, corrupt: faults.Never, isolate: faults.Never,
		delayMean:   time.Duration(random.Range(1, 40)) * time.Millisecond,
		isolateMean: time.Duration(random.Range(500, 3000)) * time.Millisecond}
	drop := random.RatioBetween(faults.PerMillion(1_000), faults.PerMillion(20_000))
	delay := random.RatioBetween(faults.PerMillion(5_000), faults.PerMillion(50_000))
	corrupt := random.RatioBetween(faults.PerMillion(200), faults.PerMillion(3_000))
	isolate := random.RatioBetween(faults.PerMillion(500), faults.PerMillion(3_000)) // per replica, every 100 ms
	if random.Enabled(on) {
		r.drop = drop
	}
	if random.Enabled(on) {
		r.delay = delay
	}
	if random.Enabled(on) {
		r.corrupt = corrupt
	}
	if random.Enabled(on) {
		r.isolate = isolate
	}
	return r
}

// spec is the bus fault spec of one process start.
func (r rates) spec(seed uint64, armed bool) *bus.Faults {
	return &bus.Faults{Seed: seed, Drop: r.drop, Delay: r.delay, DelayMean: r.delayMean, Corrupt: r.corrupt,
		Isolate: r.isolate, IsolateMean: r.isolateMean, Armed: armed}
}

// impairment is what the nemesis did to a replica and when it ends.
type impairment struct {
	kind  string // "", "killed", "paused" or "isolated"
	until time.Time
}

// nemesis kills, pauses, restarts, isolates (mostly the primary: SIGHUP
// cuts a replica off from its peers, not its clients, for isolate-mean),
// replaces replicas' data files and rots them at rest (rot_test.go) on a
// schedule drawn from its PRNG. It keeps at most tolerance replicas impaired at once,
// except for a whole-cluster crash, which it starts only when none is.
type nemesis struct {
	c         *cluster
	random    *faults.PRNG
	rates     rates
	tolerance int
	impaired  []impairment
	rejoined  bool // one replaced data file per round: a second before the first caught up could lose data legitimately
	// damaged is the one replica whose disk this round may replace or rot
	// (-1: none yet): two damaged disks of three could lose data legitimately.
	damaged int
}

func newNemesis(c *cluster, random *faults.PRNG, r rates) *nemesis {
	return &nemesis{c: c, random: random, rates: r, tolerance: (len(c.replicas) - 1) / 2,
		impaired: make([]impairment, len(c.replicas)), damaged: -1}
}

// run acts every 100 ms to 1 s until ctx ends.
func (n *nemesis) run(ctx context.Context) error {
	for {
		wait := time.Duration(n.random.Range(100, 1000)) * time.Millisecond
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		if err := n.restoreDue(time.Now()); err != nil {
			return err
		}
		if err := n.act(); err != nil {
			return err
		}
	}
}

// launch starts replica i with this round's bus faults, armed.
func (n *nemesis) launch(i int) error {
	return n.c.launch(n.c.replicas[i], n.rates.spec(n.random.Uint64(), true).String())
}

func (n *nemesis) restoreDue(now time.Time) error {
	for i, imp := range n.impaired {
		if imp.kind == "" || now.Before(imp.until) {
			continue
		}
		n.impaired[i] = impairment{}
		if imp.kind == "isolated" {
			continue // the replica heals itself
		}
		if imp.kind == "paused" {
			n.c.note("resume %d", i)
			if err := n.c.signal(n.c.replicas[i], syscall.SIGCONT); err != nil {
				return err
			}
			continue
		}
		n.c.note("restart %d", i)
		if err := n.launch(i); err != nil {
			return err
		}
	}
	return nil
}

// act draws one action. Every draw is made whatever the action, so that
// the schedule's later steps do not depend on which branch ran.
func (n *nemesis) act() error {
	roll := n.random.IntN(100)
	lasting := time.Duration(n.random.Range(200, 3000)) * time.Millisecond
	var healthy []int
	for i, imp := range n.impaired {
		if imp.kind == "" {
			healthy = append(healthy, i)
		}
	}
	pick, aim, rotSeed := n.random.Uint64(), n.random.IntN(3), n.random.Uint64()
	if len(healthy) == len(n.impaired) && roll < 4 {
		return n.crashAll(lasting)
	}
	if len(n.impaired)-len(healthy) >= n.tolerance {
		return nil // also after a whole-cluster crash, when none is healthy
	}
	victim := healthy[pick%uint64(len(healthy))]
	if primary := n.primary(); aim > 0 && primary >= 0 && n.impaired[primary].kind == "" {
		victim = primary
	}
	until := time.Now().Add(lasting)
	switch {
	case roll < 30:
		n.c.note("kill %d for %s", victim, lasting)
		n.impaired[victim] = impairment{kind: "killed", until: until}
		return n.c.signal(n.c.replicas[victim], syscall.SIGKILL)
	case roll < 55:
		n.c.note("pause %d for %s", victim, lasting)
		n.impaired[victim] = impairment{kind: "paused", until: until}
		return n.c.signal(n.c.replicas[victim], syscall.SIGSTOP)
	case roll < 80:
		n.c.note("isolate %d for %s", victim, n.rates.isolateMean)
		n.impaired[victim] = impairment{kind: "isolated", until: time.Now().Add(n.rates.isolateMean)}
		return n.c.signal(n.c.replicas[victim], syscall.SIGHUP)
	case roll < 88 && !n.rejoined && n.mayDamage(victim):
		n.rejoined, n.damaged = true, victim
		return n.rejoin(victim)
	case roll < 96 && roll >= 88 && n.mayDamage(victim):
		n.damaged = victim
		return n.rot(victim, rotSeed, lasting)
	}
	return nil
}

// mayDamage reports whether this round may replace or rot victim's disk.
func (n *nemesis) mayDamage(victim int) bool {
	return n.damaged < 0 || n.damaged == victim
}

// primary returns the primary of the highest view a running replica says
// it is normal in, or -1.
func (n *nemesis) primary() int {
	view, found := uint32(0), false
	for _, p := range n.c.replicas {
		state, last := p.current()
		if s, ok := parseStatus(last.line); ok && state == stateRunning && s.status == "normal" && s.view >= view {
			view, found = s.view, true
		}
	}
	if !found {
		return -1
	}
	return int(view % uint32(len(n.c.replicas)))
}

// crashAll kills every replica at once; they restart together later.
func (n *nemesis) crashAll(lasting time.Duration) error {
	n.c.note("kill all for %s", lasting)
	for i, p := range n.c.replicas {
		n.impaired[i] = impairment{kind: "killed", until: time.Now().Add(lasting)}
		if err := n.c.signal(p, syscall.SIGKILL); err != nil {
			return err
		}
	}
	return nil
}

// rejoin replaces replica i's data file by a --rejoin format, as if its
// disk had been swapped, and starts it again.
func (n *nemesis) rejoin(i int) error {
	n.c.note("replace the data file of %d (--rejoin)", i)
	p := n.c.replicas[i]
	if err := n.c.signal(p, syscall.SIGKILL); err != nil {
		return err
	}
	if err := n.c.format(p, true); err != nil {
		return err
	}
	return n.launch(i)
}

// heal ends every impairment: resumes the paused, restarts the killed
// (faults disarmed), and disarms the bus faults of every replica.
func (n *nemesis) heal() error {
	for i, p := range n.c.replicas {
		n.impaired[i] = impairment{}
		state, _ := p.current()
		switch state {
		case statePaused:
			n.c.note("heal: resume %d", i)
			if err := n.c.signal(p, syscall.SIGCONT); err != nil {
				return err
			}
		case stateDown:
			n.c.note("heal: restart %d", i)
			if err := n.c.launch(p, n.rates.spec(n.random.Uint64(), false).String()); err != nil {
				return err
			}
		}
		if err := n.c.signal(p, syscall.SIGUSR2); err != nil {
			return err
		}
	}
	n.c.note("heal: bus faults disarmed")
	return nil
}

// arm turns every replica's bus faults on for a round.
func (n *nemesis) arm() error {
	n.c.note("arm bus faults: %s", fmt.Sprint(n.rates.spec(0, true)))
	for _, p := range n.c.replicas {
		if err := n.c.signal(p, syscall.SIGUSR1); err != nil {
			return err
		}
	}
	return nil
}
