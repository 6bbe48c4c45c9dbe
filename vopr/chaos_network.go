package vopr

import (
	"github.com/govsr/govsr/vsr"
)

// Client links: a client that reaches only some replicas, or none for a
// while; and clients on both sides of a replica partition.

// stepClientLinks draws, per client, whether its links get cut now: to
// every replica or to a random subset, both ways or one way only.
func (c *chaos) stepClientLinks() {
	if c.opts.ClientCut.Num == 0 {
		return
	}
	n := c.sim.net
	for k := range c.sim.opts.Clients {
		cut := c.links.Chance(c.opts.ClientCut)
		mode := c.links.Uint64()
		duration := c.links.DrawExponential(c.opts.ClientCutNsMean) // computed only for a cut
		if !cut || n.faultsOff || c.sim.phase != phaseSafety {
			continue
		}
		client := n.replicas + k
		reach := uint64(0) // bit r: the client still reaches replica r
		if mode%2 == 1 {
			reach = (mode >> 3) & (1<<n.replicas - 1)
		}
		until := c.sim.now + duration.Value()
		for r := range n.replicas {
			if reach&(1<<r) != 0 {
				continue
			}
			if (mode>>1)%3 != 1 { // requests lost
				n.clogged[n.link(client, r)] = max(n.clogged[n.link(client, r)], until)
			}
			if (mode>>1)%3 != 2 { // replies lost
				n.clogged[n.link(r, client)] = max(n.clogged[n.link(r, client)], until)
			}
		}
		c.stats.ClientCuts++
	}
}

// partitionClients puts each client on a side of a replica partition
// (side[r] for replica r): it reaches only the replicas of its side.
func (c *chaos) partitionClients(side []bool, asymmetric bool) {
	if c.opts.ClientCut.Num == 0 {
		return
	}
	n := c.sim.net
	minority := 0
	for _, s := range side {
		if s {
			minority++
		}
	}
	for k := range c.sim.opts.Clients {
		clientSide := c.links.Bool()
		client := n.replicas + k
		for r := range n.replicas {
			if side[r] == clientSide {
				continue
			}
			n.blocked[n.link(client, r)] = true
			if !asymmetric {
				n.blocked[n.link(r, client)] = true
			}
		}
		if clientSide && 2*minority < n.replicas || !clientSide && 2*minority > n.replicas {
			c.stats.ClientSides++
		}
	}
}

// longDelay draws whether a message from → to is held long, and for how
// long (ns beyond its ordinary latency). Ordinary traffic keeps most of
// the link: at most heldMax messages of a link are held at once.
func (c *chaos) longDelay(from, to int, message []byte) (uint64, bool) {
	ratio := c.opts.LongDelay
	switch command := vsr.Command(message[headerCommandOffset]); {
	case from >= c.sim.opts.Replicas:
		ratio = c.opts.LongDelayRequest
	case command == vsr.CommandStartViewChange || command == vsr.CommandDoViewChange ||
		command == vsr.CommandStartView || command == vsr.CommandRecovery || command == vsr.CommandRecoveryResponse:
		// Recovery's answers too: one that arrives after its replica
		// recovered, crashed and started recovering again must be refused
		// by its nonce.
		ratio = c.opts.LongDelayViewChange
	}
	if ratio.Num == 0 {
		return 0, false
	}
	held := c.delay.Chance(ratio)
	delay := c.delay.DrawExponential(c.opts.LongDelayNsMean) // computed only for a held message
	l := c.sim.net.link(from, to)
	if !held || c.held[l] >= c.heldMax || c.sim.net.faultsOff {
		return 0, false
	}
	c.held[l]++
	c.stats.LongDelays++
	return c.opts.LongDelayNsMin + delay.Value(), true
}

// delivered is told of a long-delayed message reaching the end of its
// link (sent at sentNs), whether or not it gets through.
func (c *chaos) delivered(e *event, through bool) {
	l := c.sim.net.link(e.a, e.b)
	if c.held[l] <= 0 {
		panic("vopr: a long-delayed message arrived on a link holding none")
	}
	c.held[l]--
	if !through {
		return
	}
	c.stats.LateDeliveries++
	client := e.a - c.sim.opts.Replicas
	if client < 0 {
		return
	}
	sentNs := e.tag - 1
	h, err := vsr.DecodeHeader(e.data)
	if err != nil || h.Command != vsr.CommandRequest {
		return
	}
	switch {
	case h.Operation == vsr.OperationRegister && c.clientRegisteredNs[client] > sentNs:
		c.stats.LateOldRegisters++
		c.sim.logf(logShort, "chaos: client %d's register of %d ms ago reaches replica %d, after a later one",
			client, (c.sim.now-sentNs)/1_000_000, e.b)
	case h.Operation != vsr.OperationRegister && c.clientRepliedNs[client] > sentNs:
		c.stats.LateOldRequests++
	}
}

// clientResult notes when client k's register or request was answered.
func (c *chaos) clientResult(k int, register bool) {
	if register {
		c.clientRegisteredNs[k] = c.sim.now
	} else {
		c.clientRepliedNs[k] = c.sim.now
	}
}
