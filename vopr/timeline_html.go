package vopr

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// The timeline page: one self-contained HTML file (inline CSS, inline SVG,
// a few lines of inline script for a time cursor); it loads nothing.

// WriteHTML draws the recorded run, which ended in res, as an HTML page.
func (t *Timeline) WriteHTML(w io.Writer, res *Result) error {
	if res == nil {
		return fmt.Errorf("vopr: a timeline needs the run's result")
	}
	p := newPainter(t, res)
	p.w.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\n<title>")
	p.w.raw(esc(fmt.Sprintf("vopr seed %d: %s", t.sim.opts.Seed, verdictWord(res))))
	p.w.raw("</title>\n<style>" + timelineCSS + "</style></head>\n<body>\n")
	p.w.raw(`<svg width="0" height="0" class="defs"><defs><pattern id="hatch" width="6" height="6" ` +
		`patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="2.4" height="6" class="hatch"></rect>` +
		"</pattern></defs></svg>\n")
	p.header()
	p.legend()
	whole := frame{startNs: 0, endNs: p.endNs, x0: plotX0Px, width: pictureWidthPx - plotX0Px - plotRightPx}
	p.panel(&whole, 0, "timeline")
	if near, ok := p.closeUp(); ok {
		what := "before the failure"
		if p.res.Class == Liveness {
			what = "the start of the liveness phase"
		}
		p.w.raw(fmt.Sprintf("<h2>Close-up: %s to %s, %s</h2>\n", seconds(near.startNs), seconds(near.endNs), what))
		p.panel(&near, 0, "closeup")
	}
	p.details()
	p.w.raw("<script>" + timelineJS + "</script>\n</body></html>\n")
	_, err := io.WriteString(w, p.w.b.String())
	return err
}

// WriteHTMLFile writes the page to path.
func (t *Timeline) WriteHTMLFile(path string, res *Result) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("vopr: timeline: %w", err)
	}
	if err := t.WriteHTML(f, res); err != nil {
		f.Close()
		return fmt.Errorf("vopr: timeline: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("vopr: timeline: %w", err)
	}
	return nil
}

func verdictWord(res *Result) string {
	if res.Class == Pass {
		return "passed"
	}
	return "FAILED " + string(res.Class)
}

// closeUp is the window of the few seconds before a failure, when the run
// is long enough that the whole picture squeezes them.
func (p *painter) closeUp() (frame, bool) {
	if p.res.Class == Pass {
		return frame{}, false
	}
	windowNs := min(max(p.endNs/12, 1_000_000_000), 5_000_000_000)
	if p.endNs < 4*windowNs {
		return frame{}, false
	}
	end := min(p.res.TimeNs+windowNs/20, p.endNs)
	if p.res.Class == Liveness && p.t.livenessNs > 0 {
		// A liveness failure is the deadline; what went wrong is at the start.
		end = min(p.t.livenessNs+windowNs-windowNs/10, p.endNs)
	}
	return frame{startNs: end - windowNs, endNs: end, x0: plotX0Px, width: pictureWidthPx - plotX0Px - plotRightPx}, true
}

func (p *painter) header() {
	o, res, st := &p.t.sim.opts, p.res, &p.res.Stats
	class := "pass"
	if res.Class != Pass {
		class = "fail"
	}
	p.w.raw(fmt.Sprintf("<header><h1>vopr seed %d <span class=\"verdict %s\">%s</span> <span class=\"when\">%s, tick %d</span></h1>\n",
		o.Seed, class, esc(verdictWord(res)), seconds(res.TimeNs), res.Tick))
	if res.Message != "" {
		p.w.raw("<div class=\"msg\">" + esc(clipLines(res.Message, 12)) + "</div>\n")
	}
	faults := strings.Join(o.Enabled(), " ")
	if faults == "" {
		faults = "none"
	}
	p.w.raw("<p class=\"meta\">" + esc(joinNonEmpty(" · ", fmt.Sprintf("%d replicas, %d clients", o.Replicas, o.Clients),
		"faults on: "+faults, bugNote(o.Bug), "digest "+res.Digest)) + "</p>\n")
	p.w.raw("<p class=\"meta\">" + esc(fmt.Sprintf("requests %d, replies %d · ops committed %d · view changes %d · "+
		"crashes %d, restarts %d, pauses %d · partitions %d, clogs %d · storage faults %d, torn writes %d, disks replaced %d · "+
		"checkpoints %d, state transfers %d", st.Requests, st.Replies, st.Committed, st.ViewChanges, st.Crashes,
		st.Restarts, st.Pauses, st.Network.Partitions, st.Network.Clogs, st.StorageFaults, st.TornWrites,
		st.StorageAtlas.Replacements, st.Checkpoints, st.StateTransfers)) + "</p></header>\n")
}

func bugNote(bug string) string {
	if bug == "" {
		return ""
	}
	return "deliberate bug: " + bug
}

// legend explains every colour and glyph.
func (p *painter) legend() {
	w := p.w
	w.raw("<div class=\"legend\">")
	swatch := func(class, label string) {
		w.raw(`<span class="li"><svg width="16" height="12"><rect width="16" height="12" class="` + class + `"></rect></svg>` +
			esc(label) + "</span>")
	}
	swatch("st-primary", "primary (normal)")
	swatch("st-normal", "backup (normal)")
	swatch("st-vc", "view change")
	swatch("st-rec", "recovering")
	swatch("st-down", "down")
	swatch("paused", "paused")
	swatch("net-part", "partitioned")
	swatch("net-clog", "clogged / cut")
	swatch("disk-fault", "storage faults")
	swatch("replies", "replies")
	swatch("waiting", "oldest request waiting < 1 s")
	swatch("wait-slow", "1–5 s")
	swatch("wait-stall", "> 5 s")
	w.raw(`<span class="li"><svg width="16" height="12"><path d="M1,10H6V5H11V2H15" class="commit"></path></svg>highest op executed</span>`)
	for k := markCrash; k < markKindCount; k++ {
		w.raw(`<span class="li"><svg width="14" height="14"><g class="mk ` + markClasses[k] + `"><path d="` +
			markGlyph(k, 7, 7) + `"></path></g></svg>` + esc(markNames[k]) + "</span>")
	}
	w.raw(`<span class="li"><svg width="16" height="12"><line x1="8" y1="0" x2="8" y2="12" class="phase-line"></line></svg>liveness phase starts</span>`)
	w.raw(`<span class="li"><svg width="16" height="12"><line x1="8" y1="0" x2="8" y2="12" class="fail-line"></line></svg>failure</span>`)
	w.raw("</div>\n<p class=\"hint\">Hover anything for details; a column of the picture that holds several " +
		"states shows the most severe (down, recovering, view change, primary, backup).</p>\n")
}

// details lists the whole failure message, the last events and what the
// recorder kept.
func (p *painter) details() {
	t, res := p.t, p.res
	w := p.w
	if res.Message != "" {
		w.raw("<details open=\"\"><summary>Failure message</summary><pre>" + esc(res.Message) + "</pre></details>\n")
	}
	if len(res.Recent) > 0 {
		w.raw("<details><summary>Last events</summary><pre>" + esc(strings.Join(res.Recent, "\n")) + "</pre></details>\n")
	}
	note := fmt.Sprintf("The recorder kept %d of at most %d segments, marks and link cuts.", t.items, t.itemsMax)
	if t.capped {
		note = fmt.Sprintf("The recorder was full (%d segments, marks and link cuts) at %s: nothing after that is drawn "+
			"but the executed ops, the storage faults and the clients.", t.itemsMax, seconds(t.cappedNs))
	}
	w.raw("<p class=\"hint\">" + esc(note) + " Made by vopr --seed N --html FILE; a failing seed's picture is " +
		"written next to its report.</p>\n")
}

const timelineCSS = `
body{font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:14px 18px;color:#222;background:#fff}
h1{font-size:19px;margin:0 0 6px;font-weight:650}h2{font-size:14px;margin:14px 0 2px;color:#333}
.verdict{padding:1px 8px;border-radius:4px;color:#fff;font-size:15px;vertical-align:1px}
.verdict.fail{background:#c62828}.verdict.pass{background:#2e7d32}.when{font-size:13px;color:#666;font-weight:400}
.msg{font:12px/1.35 ui-monospace,"DejaVu Sans Mono",monospace;background:#fdecea;border-left:4px solid #c62828;padding:6px 10px;
white-space:pre-wrap;max-height:6.9em;overflow:auto;max-width:1460px}
.meta{margin:3px 0;color:#444;max-width:1460px}.hint{color:#777;font-size:11.5px;margin:2px 0}
.legend{display:flex;flex-wrap:wrap;gap:3px 13px;margin:8px 0 2px;font-size:12px;color:#333;max-width:1460px}
.legend svg{vertical-align:-2px;margin-right:4px}.defs{position:absolute}
svg.timeline{display:block}svg text{font-family:system-ui,"DejaVu Sans",sans-serif}
.axis{font-size:10px;fill:#666;text-anchor:middle}.grid{stroke:#ececec}
.lane-name{font-size:12.5px;font-weight:650;fill:#222}.lane-name.failing{fill:#c62828}.lane-tag{font-size:10px;fill:#777}
.row-name{font-size:8.5px;fill:#9a9a9a;text-anchor:end}
.st-normal{fill:#b9e0bd}.st-primary{fill:#2e7d32}.st-vc{fill:#ffb74d}.st-rec{fill:#b39ddb}.st-down{fill:#424242}
.paused{fill:url(#hatch)}.hatch{fill:#37474f;opacity:.55}
.band-label{font-size:10px;fill:#1b1b1b;pointer-events:none}.band-label.light{fill:#fff}
.net-part{fill:#e53935}.net-clog{fill:#fb8c00}.disk-fault{fill:#8d6e63}
.commit-bg{fill:#fafafa;stroke:#eee}.commit{fill:none;stroke:#1565c0;stroke-width:1.6}
.commit-end{font-size:10px;fill:#1565c0}
.hit{fill:transparent}.mk:hover .hit,.bucket:hover .hit{fill:rgba(0,0,0,.08)}
.mk-crash path{stroke:#c62828;stroke-width:2.6;fill:none}.mk-restart path{fill:#2e7d32}.mk-disk path{fill:#1e88e5}
.mk-st path{fill:#8e24aa}.mk-cp path{stroke:#9e9e9e;stroke-width:1.4}.mk-trunc path{fill:#37474f}
.mk-viol path{fill:#c62828}.mk-evict path{stroke:#6d4c41;stroke-width:2;fill:none}
.replies{fill:#43a047}.waiting{fill:#90caf9}.wait-slow{fill:#fb8c00}.wait-stall{fill:#c62828}
.phase-safety{fill:#eceff1}.phase-live{fill:#dcecfb}.phase-label{font-size:10px;fill:#455a64}.phase-label.end{text-anchor:end;fill:#1565c0}
.phase-line{stroke:#1565c0;stroke-width:1.6;stroke-dasharray:5 3}
.fail-line{stroke:#c62828;stroke-width:2}.fail-box{fill:#c62828}.fail-text{font-size:11px;fill:#fff;font-weight:600}
.capped{fill:url(#hatch);opacity:.45}.cap-label{font-size:11px;fill:#222}
.cursor{stroke:#111;stroke-width:.7;visibility:hidden;pointer-events:none}
.cursor-label{font-size:10.5px;fill:#111;visibility:hidden;pointer-events:none;paint-order:stroke;stroke:#fff;stroke-width:3}
pre{font:11.5px/1.35 ui-monospace,"DejaVu Sans Mono",monospace;background:#f6f6f6;padding:8px;overflow:auto;max-height:24em}
summary{cursor:pointer;color:#333;margin-top:8px}
`

// timelineJS moves a cursor line with the time under the mouse. It holds
// no '<' or '&', so that the page stays well-formed XML (the tests parse
// it so).
const timelineJS = `
for (const s of document.querySelectorAll("svg.timeline")) {
  const line = s.querySelector(".cursor"), label = s.querySelector(".cursor-label");
  const x0 = +s.dataset.x0, w = +s.dataset.width, t0 = +s.dataset.startNs, t1 = +s.dataset.endNs;
  const hide = () => { line.style.visibility = label.style.visibility = "hidden"; };
  s.addEventListener("mouseleave", hide);
  s.addEventListener("mousemove", e => {
    const r = s.getBoundingClientRect(), x = (e.clientX - r.left) * s.viewBox.baseVal.width / r.width;
    if (x0 > x || x > x0 + w) { hide(); return; }
    const ns = t0 + (x - x0) / w * (t1 - t0);
    line.setAttribute("x1", x); line.setAttribute("x2", x);
    line.setAttribute("y1", 30); line.setAttribute("y2", s.viewBox.baseVal.height - 28);
    label.setAttribute("x", x + 4); label.setAttribute("y", 40);
    label.textContent = (ns / 1e9).toFixed(3) + " s · tick " + Math.floor(ns / 1e7);
    line.style.visibility = label.style.visibility = "visible";
  });
}
`
