package vopr

import (
	"fmt"
	"math"
	"strings"
)

// The timeline's panels: a time axis, the phases, the network lane, a
// lane per replica, the clients lane, and the phase boundary and failure
// point drawn across them all.

const (
	pictureWidthPx = 1500
	plotX0Px       = 150 // lane names to the left
	plotRightPx    = 64  // each lane's last executed op to the right
	netLanePx      = 24
	clientLanePx   = 58
)

// painter draws a recorded run that ended in res.
type painter struct {
	t         *Timeline
	res       *Result
	endNs     uint64
	maxCommit uint64
	failing   int // the replica the failure message names first, or -1
	w         *svgWriter
}

// failingReplica is the replica a failure message starts by naming
// ("replica 3 committed ..."), or -1.
func failingReplica(res *Result, replicas int) int {
	var i int
	if res.Class == Pass {
		return -1
	}
	if _, err := fmt.Sscanf(res.Message, "replica %d ", &i); err != nil || i < 0 || i >= replicas {
		return -1
	}
	return i
}

func newPainter(t *Timeline, res *Result) *painter {
	p := &painter{t: t, res: res, endNs: max(res.TimeNs, t.sim.now, 1), w: &svgWriter{},
		failing: failingReplica(res, len(t.lanes))}
	for i := range t.lanes {
		for _, v := range t.lanes[i].commit.bins {
			if v > 0 {
				p.maxCommit = max(p.maxCommit, v-1)
			}
		}
	}
	return p
}

// panel draws the run (or the window of f) with its top at y; it returns
// the panel's height.
func (p *painter) panel(f *frame, y float64, id string) float64 {
	lanes := len(p.t.lanes)
	height := 58 + netLanePx + 10 + float64(lanes)*(laneHeightPx+laneGapPx) + clientLanePx + 30
	w := p.w
	w.open("svg", "id", id, "class", "timeline",
		"width", num(pictureWidthPx), "height", num(height), "viewBox", "0 0 "+num(pictureWidthPx)+" "+num(height),
		"data-x0", num(f.x0), "data-width", num(f.width), "data-start-ns", itoa(f.startNs), "data-end-ns", itoa(f.endNs))
	top, bottom := y+40, height-30
	p.axis(f, top, bottom)
	p.phases(f, y+18)
	lane := y + 58
	p.networkLane(f, lane)
	lane += netLanePx + 10
	for i := range lanes {
		w.open("g", "class", "lane", "data-replica", itoa(uint64(i)))
		p.drawLane(f, i, lane)
		w.raw("</g>")
		lane += laneHeightPx + laneGapPx
	}
	p.clientsLane(f, lane)
	p.capNote(f, top, bottom)
	p.boundaries(f, y+18, bottom)
	w.line(0, 0, 0, 0, "cursor")
	w.text(0, 0, "cursor-label", "")
	w.raw("</svg>\n")
	return height
}

// axis draws time labels above and below, and light grid lines.
func (p *painter) axis(f *frame, top, bottom float64) {
	stepNs := niceStep(f.spanNs() / 9)
	first := (f.startNs + uint64(stepNs) - 1) / uint64(stepNs) * uint64(stepNs)
	for at := first; at <= f.endNs; at += uint64(stepNs) {
		x := f.x(at)
		p.w.line(x, top, x, bottom, "grid")
		label := axisLabel(at, stepNs)
		p.w.text(x, 12, "axis", label)
		p.w.text(x, bottom+16, "axis", label)
	}
}

// niceStep rounds a duration up to 1, 2 or 5 times a power of ten ns.
func niceStep(ns float64) float64 {
	if ns < 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(ns)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= ns {
			return m * p
		}
	}
	return 10 * p
}

func axisLabel(ns uint64, stepNs float64) string {
	switch {
	case stepNs >= 1e9:
		return fmt.Sprintf("%g s", float64(ns)/1e9)
	case stepNs >= 1e6:
		return fmt.Sprintf("%.3g s", float64(ns)/1e9)
	}
	return fmt.Sprintf("%.6f s", float64(ns)/1e9)
}

// phases draws the safety and liveness phases as a row of two bands.
func (p *painter) phases(f *frame, y float64) {
	t := p.t
	end := p.endNs
	if t.livenessNs > 0 {
		end = t.livenessNs
	}
	if f.overlaps(0, end) {
		x0, x1 := f.x(0), f.x(end)
		p.w.rect(x0, y, x1-x0, 14, "phase-safety", "safety phase: faults on\n"+span(0, end))
		p.w.text(x0+4, y+10.5, "phase-label", fitLabel("safety phase: faults on", min(x1-x0, 200)))
	}
	if t.livenessNs > 0 && f.overlaps(t.livenessNs, p.endNs) {
		x0, x1 := f.x(t.livenessNs), f.x(p.endNs)
		label := "liveness phase: faults off, core " + coreString(t.core) + " healed"
		p.w.rect(x0, y, x1-x0, 14, "phase-live", label+"\n"+span(t.livenessNs, p.endNs))
		if fitted := fitLabel(label, x1-x0); fitted == label || x0-f.x0 < x1-x0 {
			p.w.text(x0+4, y+10.5, "phase-label", fitted)
		} else {
			// A short liveness phase: the label goes before its start.
			p.w.text(x0-4, y+10.5, "phase-label end", fitLabel(label+" ▸", x0-f.x0))
		}
	}
}

func coreString(core []bool) string {
	var in []string
	for i, c := range core {
		if c {
			in = append(in, itoa(uint64(i)))
		}
	}
	return "{" + strings.Join(in, ",") + "}"
}

// failCharPx is the width of a character of the failure label, bold.
const failCharPx = 6.9

// fitLabel shortens a label to the width (about 6 px a character).
func fitLabel(s string, widthPx float64) string { return fitLabelPx(s, widthPx, 6) }

func fitLabelPx(s string, widthPx, charPx float64) string {
	n := int((widthPx - 8) / charPx)
	r := []rune(s)
	switch {
	case n >= len(r):
		return s
	case n < 4:
		return ""
	}
	return string(r[:n-1]) + "…"
}

// boundaries draws the liveness phase's start and the failure point
// across every lane, the failure with its message.
func (p *painter) boundaries(f *frame, top, bottom float64) {
	t, res := p.t, p.res
	if t.livenessNs > 0 && t.livenessNs >= f.startNs && t.livenessNs <= f.endNs {
		x := f.x(t.livenessNs)
		p.w.line(x, top, x, bottom, "phase-line")
	}
	if res.Class == Pass || res.TimeNs < f.startNs || res.TimeNs > f.endNs {
		return
	}
	x := f.x(res.TimeNs)
	p.w.line(x, top+16, x, bottom, "fail-line")
	label := fmt.Sprintf("✕ %s at %s (tick %d): %s", strings.ToUpper(string(res.Class)), seconds(res.TimeNs),
		res.Tick, messageHead(res.Message))
	room := x - f.x0
	anchorEnd := room > f.x0+f.width-x
	if !anchorEnd {
		room = f.x0 + f.width + plotRightPx - x
	}
	label = fitLabelPx(label, room-10, failCharPx)
	width := float64(len([]rune(label)))*failCharPx + 12
	bx := x
	if anchorEnd {
		bx = x - width
	}
	p.w.open("g", "class", "fail")
	p.w.rect(bx, top+17, width, 17, "fail-box", "")
	p.w.text(bx+6, top+29, "fail-text", label)
	p.w.titled("g", fmt.Sprintf("%s at %s (tick %d):\n%s", res.Class, seconds(res.TimeNs), res.Tick, clipLines(res.Message, 30)))
}

func messageHead(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// clipLines keeps the first n lines of s.
func clipLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines[n] = "…"
	}
	return strings.Join(lines, "\n")
}

// capNote greys out what the recorder did not keep once it was full.
func (p *painter) capNote(f *frame, top, bottom float64) {
	t := p.t
	if !t.capped || t.cappedNs > f.endNs {
		return
	}
	x := f.x(t.cappedNs)
	title := fmt.Sprintf("not recorded: the timeline keeps at most %d segments, marks and link cuts, and was full at %s",
		t.itemsMax, seconds(t.cappedNs))
	p.w.rect(x, top, f.x0+f.width-x, bottom-top, "capped", title)
	p.w.text(x+4, top+12, "cap-label", "timeline capped: not recorded from here")
}
