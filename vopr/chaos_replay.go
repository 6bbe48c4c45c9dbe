package vopr

import (
	"fmt"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/vsr"
)

// Client replay ("client-replay"): the moment the primary evicts a
// client's session, the client drops off the network (its links cut both
// ways, so it hears of the eviction only later), and the network replays
// the datagrams it sent in that session: first the register that opened
// it, then, after exp(ClientReplayNsMean), its requests since, in order.
// A middlebox that buffered a client's datagrams and flushes them late
// does this; so does a retransmitting proxy that restarts.
//
// Independent long delays and duplicates seldom line this up: the late
// register must arrive after the eviction and before the client registers
// again, and a late request of the same session after that register
// executed, before anything else of the client's. A late register opens a
// new session at its own (low) request number; a protocol that trusts the
// request number alone and not the session named in the request then runs
// a request of the evicted session a second time (mutant
// 18-session-number-unchecked). A correct one refuses it with an eviction.

const clientReplayKind = "client-replay"

// replayRequestsMax bounds the requests of a session kept for a replay
// (the newest), and replaysMax the replays in a run: each replayed
// register opens a session and may evict another client, whose unanswered
// ops the linearizability search must then place anywhere.
const (
	replayRequestsMax = 4
	replaysMax        = 3
)

// replayTape is what a client sent in its current session: its register
// and its newest requests since, each a copy of the bytes sent.
type replayTape struct {
	register []byte
	requests [][]byte
}

// drawClientReplay draws the kind's options (drawAimedKind).
func drawClientReplay(seed uint64, force Force, c *ChaosOptions) {
	c.ClientReplay, c.ClientReplayNsMean = drawAimedKind(seed, force, clientReplayKind,
		[2]faults.Ratio{faults.Percent(30), faults.Percent(100)}, [2]uint64{100_000_000, 1_000_000_000})
}

// tape notes a request client (an index, or -1) sent, new bytes only.
func (c *chaos) tape(client int, h *vsr.Header, message []byte) {
	if c.opts.ClientReplay.Num == 0 || client < 0 {
		return
	}
	if c.tapes == nil {
		c.tapes = make([]replayTape, c.sim.opts.Clients)
	}
	t := &c.tapes[client]
	if h.Operation == vsr.OperationRegister {
		t.register, t.requests = append(t.register[:0], message...), t.requests[:0]
		return
	}
	if t.register == nil {
		return
	}
	if len(t.requests) == replayRequestsMax {
		old := t.requests[0]
		copy(t.requests, t.requests[1:])
		t.requests = t.requests[:replayRequestsMax-1]
		t.requests = append(t.requests, append(old[:0], message...))
		return
	}
	t.requests = append(t.requests, append([]byte(nil), message...))
}

// replayEvent is every replica's event hook: a session the primary
// evicts may be replayed.
func (c *chaos) replayEvent(i int, e *vsr.Event) {
	if e.Kind != vsr.EventEvicted || c.opts.ClientReplay.Num == 0 {
		return
	}
	rr := c.sim.replicas[i].replica
	if !rr.IsPrimary() || rr.Status() != vsr.StatusNormal {
		return
	}
	p := c.replayPR
	strike := p.Chance(c.opts.ClientReplay)
	latencyNs := c.sim.opts.Network.LatencyNsMin + p.Exponential(c.sim.opts.Network.LatencyNsMean)
	gapNs := latencyNs + p.Exponential(c.opts.ClientReplayNsMean)
	cutNs := gapNs + 1_000_000_000 + p.Exponential(c.opts.ClientReplayNsMean)
	client := c.sim.clientNode(e.Client) - c.sim.opts.Replicas
	if !strike || client < 0 || c.tapes == nil || c.stats.ClientReplays >= replaysMax ||
		c.sim.phase != phaseSafety || c.sim.net.faultsOff || c.scenarioQuiet() {
		return
	}
	t := &c.tapes[client]
	if t.register == nil || len(t.requests) == 0 {
		return
	}
	c.cutClient(client, c.sim.now+cutNs)
	node := c.sim.opts.Replicas + client
	c.sim.queue.push(event{at: c.sim.now + latencyNs, kind: eventChaos, a: node, b: actionReplay,
		data: append([]byte(nil), t.register...)})
	for _, m := range t.requests {
		c.sim.queue.push(event{at: c.sim.now + gapNs, kind: eventChaos, a: node, b: actionReplay,
			data: append([]byte(nil), m...)})
	}
	c.stats.ClientReplays++
	c.sim.logf(logShort, "chaos: client %d evicted: it drops off for %d ms; its register and %d requests are replayed",
		client, cutNs/1_000_000, len(t.requests))
	t.register, t.requests = nil, t.requests[:0]
}

// cutClient cuts client's links to and from every replica until untilNs.
func (c *chaos) cutClient(client int, untilNs uint64) {
	n := c.sim.net
	node := n.replicas + client
	for r := range n.replicas {
		n.clogged[n.link(node, r)] = max(n.clogged[n.link(node, r)], untilNs)
		n.clogged[n.link(r, node)] = max(n.clogged[n.link(r, node)], untilNs)
	}
}

// replay hands a replayed message to the primary of the moment, past the
// client's cut link (the copy was in the network already).
func (c *chaos) replay(message []byte) {
	p := c.primary()
	if p < 0 || c.sim.replicas[p].paused || c.sim.phase != phaseSafety {
		return
	}
	c.sim.replicas[p].replica.Receive(message)
}

func (c *ChaosOptions) clientReplayRow(pct func(faults.Ratio) string, sec func(uint64) string) [2]string {
	return [2]string{"client replay per eviction", fmt.Sprintf("%s: requests exp(%s) after the register",
		pct(c.ClientReplay), sec(c.ClientReplayNsMean))}
}
