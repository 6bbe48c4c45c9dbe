package vopr

import (
	"fmt"
	"math"
	"strings"
)

// The network lane (partitions between replicas, and how many replica
// links are clogged) and the clients lane (replies, requests waiting,
// client links cut, evictions), both aggregated per few pixels.

const clientBucketPx = 4

func (p *painter) networkLane(f *frame, y float64) {
	p.w.text(8, y+14, "lane-name", "network")
	for _, e := range p.t.net.episodes {
		end := min(e.endNs, p.endNs)
		if !f.overlaps(e.startNs, end) {
			continue
		}
		x0, x1 := f.x(e.startNs), f.x(end)
		p.w.rect(x0, y, x1-x0, 13, "net-part", "partition: "+e.sides+"\n"+span(e.startNs, end))
		if label := fitLabel(e.sides, x1-x0); label != "" {
			p.w.text(x0+3, y+10, "band-label light", label)
		}
	}
	n := len(p.t.lanes)
	clogged := p.cutColumns(f, func(c *linkCut) bool { return !c.partition && c.from < n && c.to < n })
	links := max(n*(n-1), 1)
	p.w.text(f.x0-5, y+21, "row-name", "clogs")
	for b0 := 0; b0 < len(clogged); b0 += clientBucketPx {
		most := 0
		for c := b0; c < min(b0+clientBucketPx, len(clogged)); c++ {
			most = max(most, clogged[c])
		}
		if most == 0 {
			continue
		}
		b1 := min(b0+clientBucketPx, len(clogged))
		h := 2 + 7*float64(most)/float64(links)
		title := fmt.Sprintf("up to %d of %d replica links clogged (or a replica isolated)\n%s", most, links,
			span(f.colNs(b0), f.colNs(b1)))
		p.w.rect(f.x0+float64(b0), y+24-h, float64(b1-b0), h, "net-clog", title)
	}
}

// cutColumns counts, per column, the link cuts keep selects in force.
func (p *painter) cutColumns(f *frame, keep func(c *linkCut) bool) []int {
	diff := make([]int, f.cols()+1)
	for k := range p.t.net.cuts {
		c := &p.t.net.cuts[k]
		end := min(c.endNs, p.endNs)
		if !keep(c) || !f.overlaps(c.startNs, end) {
			continue
		}
		c0, c1 := f.colRange(c.startNs, end)
		diff[c0]++
		diff[c1+1]--
	}
	counts := make([]int, f.cols())
	sum := 0
	for c := range counts {
		sum += diff[c]
		counts[c] = sum
	}
	return counts
}

// clientBucket is a clientBucketPx-wide column of the clients lane.
type clientBucket struct {
	endNs    uint64
	replies  int
	waiting  int    // requests in flight at some time within the bucket, at most
	oldestNs uint64 // how long the oldest request in flight at endNs had waited
}

func (p *painter) clientBuckets(f *frame) []clientBucket {
	buckets := make([]clientBucket, (f.cols()+clientBucketPx-1)/clientBucketPx)
	for k := range buckets {
		buckets[k].endNs = min(f.colNs(min((k+1)*clientBucketPx, f.cols())), p.endNs)
	}
	waiting := make([]int, f.cols()+1)
	for _, op := range p.t.sim.check.history {
		ret := op.retNs
		if ret == 0 {
			ret = p.endNs + 1 // never answered
		}
		if op.retNs > 0 && !op.unknown && op.retNs >= f.startNs && op.retNs <= f.endNs {
			buckets[f.col(op.retNs)/clientBucketPx].replies++
		}
		if !f.overlaps(op.callNs, ret) {
			continue
		}
		c0, c1 := f.colRange(op.callNs, ret)
		waiting[c0]++
		waiting[c1+1]--
		for k := c0 / clientBucketPx; k < len(buckets) && buckets[k].endNs < ret; k++ {
			if b := &buckets[k]; b.endNs >= op.callNs {
				b.oldestNs = max(b.oldestNs, b.endNs-op.callNs)
			}
		}
	}
	sum := 0
	for c := range f.cols() {
		sum += waiting[c]
		b := &buckets[c/clientBucketPx]
		b.waiting = max(b.waiting, sum)
	}
	return buckets
}

// waitClass colours how long the oldest request had waited.
func waitClass(ns uint64) string {
	switch {
	case ns >= 5_000_000_000:
		return "wait-stall"
	case ns >= 1_000_000_000:
		return "wait-slow"
	}
	return "waiting"
}

func (p *painter) clientsLane(f *frame, y float64) {
	clients := p.t.sim.opts.Clients
	p.w.text(8, y+laneBandY+17, "lane-name", "clients")
	p.w.text(8, y+laneBandY+28, "lane-tag", itoa(uint64(clients))+" clients")
	p.w.text(f.x0-5, y+laneBandY+18, "row-name", "replies")
	p.w.text(f.x0-5, y+laneBandY+33, "row-name", "oldest wait")
	p.w.text(f.x0-5, y+laneBandY+42, "row-name", "links cut")
	buckets := p.clientBuckets(f)
	most := 1
	for _, b := range buckets {
		most = max(most, b.replies)
	}
	barY, waitY := y+laneBandY, y+laneBandY+26
	p.w.rect(f.x0, barY, f.width, 24, "commit-bg", "")
	for k, b := range buckets {
		x := f.x0 + float64(k*clientBucketPx)
		width := min(float64(clientBucketPx), f.x0+f.width-x)
		title := fmt.Sprintf("%d replies; up to %d of %d clients waiting; the oldest request in flight had waited %s\n%s",
			b.replies, b.waiting, clients, seconds(b.oldestNs),
			span(f.colNs(k*clientBucketPx), b.endNs))
		p.w.open("g", "class", "bucket")
		p.w.rect(x, barY, width, 36, "hit", "")
		if b.replies > 0 {
			h := 2 + 21*float64(b.replies)/float64(most)
			p.w.rect(x, barY+24-h, width-0.5, h, "replies", "")
		}
		if b.waiting > 0 {
			// 10 ms to 10 s on a log scale.
			h := 1 + 9*min(1, max(0, math.Log10(float64(b.oldestNs)/1e7)/3))
			p.w.rect(x, waitY+10-h, width, h, waitClass(b.oldestNs), "")
		}
		p.w.titled("g", title)
	}
	p.clientCuts(f, y+laneBandY+38)
	p.drawMarks(f, -1, y+laneMarksPx/2+0.5)
}

// clientCuts draws where links between clients and replicas pass
// nothing, with how many.
func (p *painter) clientCuts(f *frame, y float64) {
	n := len(p.t.lanes)
	cut := p.cutColumns(f, func(c *linkCut) bool { return (c.from < n) != (c.to < n) })
	for c0 := 0; c0 < len(cut); c0++ {
		k := cut[c0]
		if k == 0 {
			continue
		}
		c1 := c0
		for c1+1 < len(cut) && cut[c1+1] == k {
			c1++
		}
		title := fmt.Sprintf("%d client↔replica link(s) cut (client link cuts, partitions, isolations)\n%s", k,
			span(f.colNs(c0), f.colNs(c1+1)))
		p.w.rect(f.x0+float64(c0), y, float64(c1-c0+1), laneNetPx, "net-clog", title)
		c0 = c1
	}
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, s := range parts {
		if s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, sep)
}
