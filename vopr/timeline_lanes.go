package vopr

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/govsr/govsr/vsr"
)

// A replica's lane, top to bottom: a marks row (crashes, restarts, disk
// replacements, state transfers, truncations, checkpoints), the status
// band (status and view, the primary in a darker tone, pauses hatched),
// a network strip (links cut by a partition or a clog), a disk strip
// (storage faults), and the highest op executed as a line.
const (
	laneMarksPx  = 13
	laneBandPx   = 26
	laneNetPx    = 5
	laneDiskPx   = 5
	laneCommitPx = 22
	laneGapPx    = 12
	laneBandY    = laneMarksPx
	laneNetY     = laneBandY + laneBandPx + 2
	laneDiskY    = laneNetY + laneNetPx + 2
	laneCommitY  = laneDiskY + laneDiskPx + 3
	laneHeightPx = laneCommitY + laneCommitPx
)

// bandKind is what a status band column shows, in order of precedence:
// within one column the highest wins, so a short view change or crash
// stays visible however long the run.
type bandKind uint8

const (
	bandNone bandKind = iota
	bandNormal
	bandPrimary
	bandViewChange
	bandRecovering
	bandDown
)

var bandClasses = [...]string{bandNormal: "st-normal", bandPrimary: "st-primary", bandViewChange: "st-vc",
	bandRecovering: "st-rec", bandDown: "st-down"}

var bandNames = [...]string{bandNormal: "normal (backup)", bandPrimary: "normal, primary",
	bandViewChange: "view change", bandRecovering: "recovering", bandDown: "down (crashed)"}

func kindOf(st laneState) bandKind {
	switch {
	case st.down:
		return bandDown
	case st.status == vsr.StatusRecovering:
		return bandRecovering
	case st.status == vsr.StatusViewChange:
		return bandViewChange
	case st.primary:
		return bandPrimary
	}
	return bandNormal
}

// bandCol is one column of a status band: what it shows and which
// segments fall in it.
type bandCol struct {
	kind        bandKind
	view        uint32
	paused      bool
	first, last int
}

// segmentEnd is when lane segment k ends.
func (p *painter) segmentEnd(l *timelineLane, k int) uint64 {
	if k+1 < len(l.segments) {
		return l.segments[k+1].atNs
	}
	if p.t.capped {
		return p.t.cappedNs
	}
	return p.endNs
}

func (p *painter) bandColumns(f *frame, l *timelineLane) []bandCol {
	cols := make([]bandCol, f.cols())
	for c := range cols {
		cols[c].first = -1
	}
	for k, seg := range l.segments {
		a, b := seg.atNs, max(p.segmentEnd(l, k), seg.atNs+1)
		if !f.overlaps(a, b) {
			continue
		}
		kind := kindOf(seg.state)
		c0, c1 := f.colRange(a, b)
		for c := c0; c <= c1; c++ {
			col := &cols[c]
			if kind >= col.kind {
				col.kind, col.view = kind, seg.state.view
			}
			col.paused = col.paused || seg.state.paused && !seg.state.down
			if col.first < 0 {
				col.first = k
			}
			col.last = k
		}
	}
	return cols
}

// drawLane draws replica i's lane with its top at y.
func (p *painter) drawLane(f *frame, i int, y float64) {
	l := &p.t.lanes[i]
	p.laneLabels(f, i, y)
	cols := p.bandColumns(f, l)
	labels := p.drawBand(f, i, l, cols, y+laneBandY)
	p.drawPaused(f, i, cols, y+laneBandY)
	p.w.raw(labels) // over the pause hatching
	p.drawLinks(f, i, y+laneNetY)
	p.drawDisk(f, l, y+laneDiskY)
	p.drawCommit(f, i, l, y+laneCommitY)
	p.drawMarks(f, i, y+laneMarksPx/2+0.5)
}

func (p *painter) laneLabels(f *frame, i int, y float64) {
	w := p.w
	name := "lane-name"
	var tags []string
	if i == p.failing {
		name = "lane-name failing"
		tags = append(tags, "failed")
	}
	w.text(8, y+laneBandY+17, name, "replica "+itoa(uint64(i)))
	if p.t.core != nil {
		if p.t.core[i] {
			tags = append(tags, "core")
		} else {
			tags = append(tags, "left out")
		}
	}
	if !p.t.sim.diskHealthy(i) {
		tags = append(tags, "disk faults on")
	}
	w.text(8, y+laneBandY+laneBandPx+11, "lane-tag", strings.Join(tags, " · "))
	for _, row := range []struct {
		name string
		y    float64
	}{{"net", laneNetY + 5}, {"disk", laneDiskY + 5}, {"ops", laneCommitY + 14}} {
		w.text(f.x0-5, y+row.y, "row-name", row.name)
	}
}

// drawBand draws a status band; it returns the band's labels, to draw
// over whatever goes on top of the band.
func (p *painter) drawBand(f *frame, i int, l *timelineLane, cols []bandCol, y float64) string {
	var labels svgWriter
	for c0 := 0; c0 < len(cols); {
		c1 := c0
		first, last := cols[c0].first, cols[c0].last
		for c1+1 < len(cols) && cols[c1+1].kind == cols[c0].kind && cols[c1+1].view == cols[c0].view {
			c1++
			last = max(last, cols[c1].last)
		}
		if cols[c0].kind != bandNone {
			p.bandRun(f, i, l, cols[c0], c0, c1, first, last, y, &labels)
		}
		c0 = c1 + 1
	}
	return labels.b.String()
}

// bandRun draws columns c0..c1 of a band, showing segments first..last.
func (p *painter) bandRun(f *frame, i int, l *timelineLane, col bandCol, c0, c1, first, last int, y float64, labels *svgWriter) {
	a, b := f.colNs(c0), f.colNs(c1+1)
	title := fmt.Sprintf("replica %d: %s, view %d\n%s", i, bandNames[col.kind], col.view, span(a, b))
	if changes := last - first; changes > 0 {
		title += fmt.Sprintf("\n%d changes within this stretch (too short to draw apart)", changes)
	}
	shown := 0
	for k := max(first, 0); k <= last && shown < 2; k++ {
		if r := l.segments[k].reason; r != "" {
			title += "\n" + seconds(l.segments[k].atNs) + ": " + clipTo(r, 120)
			shown++
		}
	}
	x, width := f.x0+float64(c0), float64(c1-c0+1)
	p.w.rect(x, y, width, laneBandPx, bandClasses[col.kind], title)
	if label := bandLabel(col, width); label != "" {
		class := "band-label"
		if col.kind == bandPrimary || col.kind == bandDown {
			class = "band-label light"
		}
		labels.text(x+3, y+laneBandPx/2+3.5, class, label)
	}
}

// bandLabel is the longest label that fits a band run width px wide.
func bandLabel(col bandCol, width float64) string {
	v := "v" + itoa(uint64(col.view))
	var options []string
	switch col.kind {
	case bandDown:
		options = []string{"down", "✕"}
	case bandRecovering:
		options = []string{"recovering " + v, "rec " + v, v}
	case bandViewChange:
		options = []string{"view change → " + v, "vc " + v, v}
	case bandPrimary:
		options = []string{"primary " + v, "P " + v, "P"}
	default:
		options = []string{v}
	}
	for _, o := range options {
		if float64(len([]rune(o)))*6+6 <= width {
			return o
		}
	}
	return ""
}

func (p *painter) drawPaused(f *frame, i int, cols []bandCol, y float64) {
	for c0 := 0; c0 < len(cols); c0++ {
		if !cols[c0].paused {
			continue
		}
		c1 := c0
		for c1+1 < len(cols) && cols[c1+1].paused {
			c1++
		}
		title := fmt.Sprintf("replica %d paused (hears nothing until it resumes)\n%s", i, span(f.colNs(c0), f.colNs(c1+1)))
		p.w.rect(f.x0+float64(c0), y, float64(c1-c0+1), laneBandPx, "paused", title)
		c0 = c1
	}
}

// drawLinks draws the links between replica i and its peers that pass
// nothing: red where a partition blocks some, orange where only clogs do.
func (p *painter) drawLinks(f *frame, i int, y float64) {
	n := len(p.t.lanes)
	cols := f.cols()
	diff := make([][]int, 2*n) // [kind*n+peer][column]
	for k := range diff {
		diff[k] = make([]int, cols+1)
	}
	for _, c := range p.t.net.cuts {
		if c.from >= n || c.to >= n || (c.from != i && c.to != i) {
			continue
		}
		end := min(c.endNs, p.endNs)
		if !f.overlaps(c.startNs, end) {
			continue
		}
		peer, kind := c.from+c.to-i, 1
		if c.partition {
			kind = 0
		}
		c0, c1 := f.colRange(c.startNs, end)
		diff[kind*n+peer][c0]++
		diff[kind*n+peer][c1+1]--
	}
	masks := make([][2]uint64, cols)
	for k := range diff {
		sum := 0
		for c := range cols {
			sum += diff[k][c]
			if sum > 0 {
				masks[c][k/n] |= 1 << (k % n)
			}
		}
	}
	p.drawLinkRuns(f, i, masks, y)
}

// drawLinkRuns draws stretches of one kind (partition over clog) as one
// rect, its title naming every peer cut within it.
func (p *painter) drawLinkRuns(f *frame, i int, masks [][2]uint64, y float64) {
	kind := func(m [2]uint64) int {
		switch {
		case m[0] != 0:
			return 2
		case m[1] != 0:
			return 1
		}
		return 0
	}
	for c0 := 0; c0 < len(masks); c0++ {
		k := kind(masks[c0])
		if k == 0 {
			continue
		}
		c1, union := c0, masks[c0]
		for c1+1 < len(masks) && kind(masks[c1+1]) == k {
			c1++
			union[0] |= masks[c1][0]
			union[1] |= masks[c1][1]
		}
		class, title := "net-clog", fmt.Sprintf("replica %d: links clogged with replicas %s", i, maskList(union[1]))
		if k == 2 {
			class = "net-part"
			title = fmt.Sprintf("replica %d: partitioned from replicas %s", i, maskList(union[0]))
			if union[1] != 0 {
				title += "; links clogged with " + maskList(union[1])
			}
		}
		p.w.rect(f.x0+float64(c0), y, float64(c1-c0+1), laneNetPx, class, title+"\n"+span(f.colNs(c0), f.colNs(c1+1)))
		c0 = c1
	}
}

func maskList(m uint64) string {
	var out []string
	for i := range 64 {
		if m&(1<<i) != 0 {
			out = append(out, itoa(uint64(i)))
		}
	}
	return strings.Join(out, ",")
}

// binColumns spreads a series' bins over the frame's columns: the sum of
// each column's bins, or the largest value (plus one) in maxMode. before
// is the last value (plus one) of a maxMode series before the frame.
func binColumns(f *frame, b *binSeries) (cols []uint64, before uint64) {
	cols = make([]uint64, f.cols())
	for j, v := range b.bins {
		at := uint64(j) * b.binNs
		switch {
		case v == 0:
		case at < f.startNs:
			before = v
		case at <= f.endNs:
			c := f.col(at)
			if b.maxMode {
				cols[c] = max(cols[c], v)
			} else {
				cols[c] += v
			}
		}
	}
	return cols, before
}

func (p *painter) drawDisk(f *frame, l *timelineLane, y float64) {
	cols, _ := binColumns(f, &l.storage)
	for c0 := 0; c0 < len(cols); c0++ {
		if cols[c0] == 0 {
			continue
		}
		c1, total := c0, cols[c0]
		for c1+1 < len(cols) && cols[c1+1] != 0 && c1-c0 < 6 {
			c1++
			total += cols[c1]
		}
		title := fmt.Sprintf("%d storage fault(s): read errors, bit flips, misdirected writes, torn sectors\n%s",
			total, span(f.colNs(c0), f.colNs(c1+1)))
		p.w.rect(f.x0+float64(c0), y, max(float64(c1-c0+1), 2), laneDiskPx, "disk-fault", title)
		c0 = c1
	}
}

// drawCommit draws the highest op replica i executed, on a scale shared
// by every lane, as a step line.
func (p *painter) drawCommit(f *frame, i int, l *timelineLane, y float64) {
	p.w.rect(f.x0, y, f.width, laneCommitPx, "commit-bg", "")
	cols, v := binColumns(f, &l.commit)
	yOf := func(v uint64) float64 {
		op := float64(max(v, 1) - 1)
		return y + laneCommitPx - 1 - op*(laneCommitPx-3)/float64(max(p.maxCommit, 1))
	}
	var d strings.Builder
	started := v != 0
	if started {
		d.WriteString("M" + num(f.x0) + "," + num(yOf(v)))
	}
	for c, cv := range cols {
		switch {
		case cv == 0 || cv == v:
		case !started:
			d.WriteString("M" + num(f.x0+float64(c)) + "," + num(yOf(cv)))
			started = true
		default:
			d.WriteString("H" + num(f.x0+float64(c)) + "V" + num(yOf(cv)))
		}
		if cv != 0 {
			v = cv
		}
	}
	if !started {
		return
	}
	d.WriteString("H" + num(f.x0+f.width))
	title := fmt.Sprintf("replica %d: highest op executed (commit_min), %d at the end; scale 0–%d, shared by every lane",
		i, max(v, 1)-1, p.maxCommit)
	p.w.path(d.String(), "commit", title)
	p.w.text(f.x0+f.width+4, y+laneCommitPx-6, "commit-end", "op "+itoa(max(v, 1)-1))
}

// markGroup is the marks of one kind on one lane within a few pixels.
type markGroup struct {
	kind  markKind
	x     float64
	marks []timelineMark
}

// groupMarks groups lane's marks (replica -1: the clients lane) that fall
// within markGroupPx of each other, per kind.
func (p *painter) groupMarks(f *frame, lane int) []markGroup {
	const markGroupPx = 8
	var groups []markGroup
	open := map[markKind]int{} // kind → its latest group; looked up only
	for _, m := range p.t.marks {
		if m.replica != lane || m.atNs < f.startNs || m.atNs > f.endNs {
			continue
		}
		x := f.x(m.atNs)
		if g, ok := open[m.kind]; ok && x-groups[g].x < markGroupPx {
			groups[g].marks = append(groups[g].marks, m)
			continue
		}
		open[m.kind] = len(groups)
		groups = append(groups, markGroup{kind: m.kind, x: x, marks: []timelineMark{m}})
	}
	sort.SliceStable(groups, func(a, b int) bool { return groups[a].x < groups[b].x })
	return groups
}

// drawMarks draws a lane's marks left to right, each glyph nudged right
// of the one before if they would overlap (the title gives the time).
func (p *painter) drawMarks(f *frame, lane int, y float64) {
	const glyphPx = 9
	last := math.Inf(-1)
	for _, g := range p.groupMarks(f, lane) {
		if g.kind != markCheckpoint { // ticks may touch
			g.x = max(g.x, last+glyphPx)
			last = g.x
		}
		p.drawMark(g, y)
	}
}

// drawMark draws one group's glyph, its title listing the first marks.
func (p *painter) drawMark(g markGroup, y float64) {
	title := fmt.Sprintf("%d × %s", len(g.marks), markNames[g.kind])
	if len(g.marks) == 1 {
		title = markNames[g.kind]
	}
	for k, m := range g.marks {
		if k == 5 {
			title += fmt.Sprintf("\n… and %d more", len(g.marks)-k)
			break
		}
		title += "\n" + seconds(m.atNs) + " (tick " + itoa(m.atNs/tickNs) + "): " + m.detail
	}
	x := g.x
	p.w.open("g", "class", "mk "+markClasses[g.kind])
	p.w.rect(x-5, y-6, 10, 12, "hit", "")
	p.w.path(markGlyph(g.kind, x, y), "", "")
	p.w.titled("g", title)
}

var markClasses = [markKindCount]string{markCrash: "mk-crash", markRestart: "mk-restart",
	markDiskReplaced: "mk-disk", markStateTransfer: "mk-st", markCheckpoint: "mk-cp",
	markTruncation: "mk-trunc", markViolation: "mk-viol", markEviction: "mk-evict"}

// markGlyph is the path of a mark's glyph centred at x, y.
func markGlyph(kind markKind, x, y float64) string {
	pt := func(dx, dy float64) string { return num(x+dx) + "," + num(y+dy) }
	switch kind {
	case markCrash, markEviction:
		return "M" + pt(-4, -4) + "L" + pt(4, 4) + "M" + pt(-4, 4) + "L" + pt(4, -4)
	case markRestart:
		return "M" + pt(-4.5, 4) + "L" + pt(0, -4.5) + "L" + pt(4.5, 4) + "Z"
	case markDiskReplaced:
		return "M" + pt(-4, -4) + "H" + num(x+4) + "V" + num(y+4) + "H" + num(x-4) + "Z"
	case markStateTransfer:
		return "M" + pt(0, -5) + "L" + pt(4.5, 0) + "L" + pt(0, 5) + "L" + pt(-4.5, 0) + "Z"
	case markTruncation:
		return "M" + pt(-4.5, -4) + "L" + pt(4.5, -4) + "L" + pt(0, 4.5) + "Z"
	case markViolation:
		return "M" + pt(-4, 0) + "a4,4 0 1,0 8,0a4,4 0 1,0 -8,0Z"
	}
	return "M" + pt(0, 1) + "V" + num(y+6) // checkpoint: a small tick
}
