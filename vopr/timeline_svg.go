package vopr

import (
	"html"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A small SVG writer for the timeline picture. Every string that reaches
// the page (titles, labels, the failure message) goes through esc; class
// names are constants of this package.

type svgWriter struct {
	b strings.Builder
}

func esc(s string) string { return html.EscapeString(s) }

// num formats a coordinate with one decimal at most.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}

func (w *svgWriter) raw(s string) { w.b.WriteString(s) }

// open writes the start of an element with its attributes (name, value
// pairs; values are escaped).
func (w *svgWriter) open(tag string, attrs ...string) {
	w.b.WriteString("<" + tag)
	for i := 0; i+1 < len(attrs); i += 2 {
		w.b.WriteString(" " + attrs[i] + `="` + esc(attrs[i+1]) + `"`)
	}
	w.b.WriteString(">")
}

// titled closes an element opened with open, giving it a hover title.
func (w *svgWriter) titled(tag, title string) {
	if title != "" {
		w.b.WriteString("<title>" + esc(title) + "</title>")
	}
	w.b.WriteString("</" + tag + ">")
}

func (w *svgWriter) rect(x, y, width, height float64, class, title string) {
	w.open("rect", "x", num(x), "y", num(y), "width", num(max(width, 0.6)), "height", num(height), "class", class)
	w.titled("rect", title)
}

func (w *svgWriter) text(x, y float64, class, s string) {
	w.open("text", "x", num(x), "y", num(y), "class", class)
	w.b.WriteString(esc(s) + "</text>")
}

func (w *svgWriter) path(d, class, title string) {
	w.open("path", "d", d, "class", class)
	w.titled("path", title)
}

func (w *svgWriter) line(x1, y1, x2, y2 float64, class string) {
	w.open("line", "x1", num(x1), "y1", num(y1), "x2", num(x2), "y2", num(y2), "class", class)
	w.b.WriteString("</line>")
}

// frame maps a window of simulated time onto a range of x pixels, one
// column per pixel.
type frame struct {
	startNs, endNs uint64
	x0, width      float64
}

func (f *frame) spanNs() float64 { return float64(f.endNs - f.startNs) }

// x is the pixel of time ns, clamped to the frame.
func (f *frame) x(ns uint64) float64 {
	ns = min(max(ns, f.startNs), f.endNs)
	return f.x0 + float64(ns-f.startNs)*f.width/f.spanNs()
}

func (f *frame) cols() int { return int(f.width) }

// col is the column holding time ns, clamped to the frame.
func (f *frame) col(ns uint64) int {
	ns = min(max(ns, f.startNs), f.endNs)
	return min(f.cols()-1, int(float64(ns-f.startNs)*float64(f.cols())/f.spanNs()))
}

// colNs is the time at the start of column c.
func (f *frame) colNs(c int) uint64 {
	return f.startNs + uint64(float64(c)*f.spanNs()/float64(f.cols()))
}

// overlaps reports whether [a, b) meets the frame.
func (f *frame) overlaps(a, b uint64) bool { return b > f.startNs && a < f.endNs }

// colRange is the columns [a, b) covers, for an interval that overlaps.
func (f *frame) colRange(a, b uint64) (int, int) {
	return f.col(a), f.col(max(a, b-1))
}

// seconds formats a time for titles and labels.
func seconds(ns uint64) string {
	return strconv.FormatFloat(float64(ns)/1e9, 'f', 3, 64) + " s"
}

// span formats an interval for titles.
func span(a, b uint64) string {
	return seconds(a) + " – " + seconds(b) + " (ticks " + itoa(a/tickNs) + "–" + itoa(b/tickNs) + ")"
}

// clipTo shortens s to at most n bytes (on a rune boundary) with an ellipsis.
func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
