package vopr

import "strings"

// The timeline's network recording: every link's cuts, partitions
// (blocked links) and clogs (links clogged until a time), read off the
// network's own tables, and the partition episodes between replicas.

// openNs is the end of a cut still in force.
const openNs = ^uint64(0)

// linkCut is one link passing nothing from startNs to endNs.
type linkCut struct {
	from, to       int
	partition      bool // else a clog (clogs, isolations, client link cuts)
	startNs, endNs uint64
}

// partitionEpisode is one shape of blocked replica links, in force from
// startNs to endNs.
type partitionEpisode struct {
	startNs, endNs uint64
	sides          string
}

type timelineNet struct {
	replicas, nodes int
	cuts            []linkCut
	openBlocked     []int // per link: its partition cut in cuts, or -1
	openClog        []int // per link: its latest clog cut in cuts, or -1
	episodes        []partitionEpisode
	openEpisode     int
}

func (tn *timelineNet) init(s *Simulator) {
	tn.replicas, tn.nodes = s.net.replicas, s.net.nodes
	tn.openBlocked = make([]int, tn.nodes*tn.nodes)
	tn.openClog = make([]int, tn.nodes*tn.nodes)
	for l := range tn.openBlocked {
		tn.openBlocked[l], tn.openClog[l] = -1, -1
	}
	tn.openEpisode = -1
}

// observe looks at the links between replicas, and at the links to
// clients when all is set (a fault step, a chaos action, a phase change)
// or a replica link changed (an isolation covers both).
func (tn *timelineNet) observe(t *Timeline, all bool) {
	blocked, changed := false, false
	for from := range tn.replicas {
		for to := range tn.replicas {
			if from != to {
				b, c := tn.observeLink(t, from, to)
				blocked, changed = blocked || b, changed || c
			}
		}
	}
	if all || changed {
		for from := range tn.nodes {
			for to := range tn.nodes {
				if (from < tn.replicas) != (to < tn.replicas) {
					tn.observeLink(t, from, to)
				}
			}
		}
	}
	if blocked {
		tn.episode(t)
	}
}

// observeLink updates the cuts of one link; it reports whether its
// partition state changed, and whether anything did.
func (tn *timelineNet) observeLink(t *Timeline, from, to int) (blockedChanged, changed bool) {
	n, now := t.sim.net, t.sim.now
	l := n.link(from, to)
	if b := n.blocked[l]; b != (tn.openBlocked[l] >= 0) {
		blockedChanged = true
		if b {
			tn.openBlocked[l] = tn.add(t, linkCut{from: from, to: to, partition: true, startNs: now, endNs: openNs})
		} else {
			tn.cuts[tn.openBlocked[l]].endNs = now
			tn.openBlocked[l] = -1
		}
	}
	until := n.clogged[l]
	k := tn.openClog[l]
	switch {
	case until > now && k >= 0 && tn.cuts[k].endNs >= now:
		changed = tn.cuts[k].endNs != until
		tn.cuts[k].endNs = until // extended, or shortened but still on
	case until > now:
		changed = true
		tn.openClog[l] = tn.add(t, linkCut{from: from, to: to, startNs: now, endNs: until})
	case k >= 0 && tn.cuts[k].endNs > now:
		changed = true
		tn.cuts[k].endNs = now // ended early (a rejoin)
		tn.openClog[l] = -1
	}
	return blockedChanged, changed || blockedChanged
}

// add appends a cut if the recorder has room; it returns its index or -1.
func (tn *timelineNet) add(t *Timeline, c linkCut) int {
	if !t.take() {
		return -1
	}
	tn.cuts = append(tn.cuts, c)
	return len(tn.cuts) - 1
}

// episode closes the partition episode in force and opens the next, if
// any replica link is blocked now.
func (tn *timelineNet) episode(t *Timeline) {
	now := t.sim.now
	if tn.openEpisode >= 0 {
		tn.episodes[tn.openEpisode].endNs = now
		tn.openEpisode = -1
	}
	sides := tn.sides(t.sim.net)
	if sides == "" || !t.take() {
		return
	}
	tn.episodes = append(tn.episodes, partitionEpisode{startNs: now, endNs: openNs, sides: sides})
	tn.openEpisode = len(tn.episodes) - 1
}

// sides describes the blocked replica links: the groups of replicas that
// still reach each other both ways, and whether some cut is one-way. It is
// empty when no replica link is blocked.
func (tn *timelineNet) sides(n *network) string {
	group := make([]int, tn.replicas)
	for i := range group {
		group[i] = i
	}
	find := func(i int) int {
		for group[i] != i {
			i = group[i]
		}
		return i
	}
	any, oneWay := false, false
	for a := range tn.replicas {
		for b := range tn.replicas {
			ab, ba := n.blocked[n.link(a, b)], n.blocked[n.link(b, a)]
			any = any || ab
			oneWay = oneWay || ab != ba
			if a != b && !ab && !ba {
				group[find(a)] = find(b)
			}
		}
	}
	if !any {
		return ""
	}
	var out []string
	for root := range tn.replicas {
		var members []string
		for i := range tn.replicas {
			if find(i) == root {
				members = append(members, itoa(uint64(i)))
			}
		}
		if len(members) > 0 {
			out = append(out, "{"+strings.Join(members, ",")+"}")
		}
	}
	s := strings.Join(out, " | ")
	if oneWay {
		s += " (some cuts one-way)"
	}
	return s
}
