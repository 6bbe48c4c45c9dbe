package vopr

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// node is an element of a parsed page: enough of a DOM to check the
// picture's structure.
type node struct {
	name     string
	attrs    map[string]string
	children []*node
	text     string // character data directly inside
}

// parsePage parses the page as XML: WriteHTML keeps it well-formed.
func parsePage(t *testing.T, page []byte) *node {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict = true
	root := &node{name: "#document"}
	stack := []*node{root}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the page is not well-formed: %v", err)
		}
		top := stack[len(stack)-1]
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			top.children = append(top.children, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top.text += string(tok)
		}
	}
	if len(stack) != 1 {
		t.Fatalf("%d elements left open", len(stack)-1)
	}
	return root
}

// find returns every element under n (n included) that match accepts.
func (n *node) find(match func(*node) bool) []*node {
	var out []*node
	if match(n) {
		out = append(out, n)
	}
	for _, c := range n.children {
		out = append(out, c.find(match)...)
	}
	return out
}

func (n *node) hasClass(class string) bool {
	return strings.Contains(" "+n.attrs["class"]+" ", " "+class+" ")
}

// title is the text of n's <title> child, if any.
func (n *node) title() string {
	for _, c := range n.children {
		if c.name == "title" {
			return c.text
		}
	}
	return ""
}

// mainPanel is the picture of the whole run.
func mainPanel(t *testing.T, doc *node) *node {
	t.Helper()
	svgs := doc.find(func(n *node) bool { return n.name == "svg" && n.attrs["id"] == "timeline" })
	if len(svgs) != 1 {
		t.Fatalf("%d timeline panels", len(svgs))
	}
	return svgs[0]
}

func byClass(class string) func(*node) bool {
	return func(n *node) bool { return n.hasClass(class) }
}

// runRecorded runs options with a recorder and returns the result and
// the page.
func runRecorded(t *testing.T, o Options) (*Result, *Timeline, []byte) {
	t.Helper()
	s, err := New(o, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	tl := s.RecordTimeline()
	res := s.Run()
	var page bytes.Buffer
	if err := tl.WriteHTML(&page, res); err != nil {
		t.Fatal(err)
	}
	return res, tl, page.Bytes()
}

// brokenSeed is a deliberately broken run that fails fast, after crashes,
// a partition, a pause, view changes and storage faults: seed 24 with
// superblock updates that never record a new view (5 replicas; it fails
// at tick 718 when a replica reopens in an older view).
func brokenSeed() Options {
	o := Draw(24, Force{})
	o.Bug = "stale-superblock"
	o.Checks.Off = caughtEarlierBy[o.Bug] // the promises checker would stop it at its first do_view_change
	return o
}

// The picture of a deliberately broken run has a lane per replica, status
// bands, the faults that struck, commits, clients, and the failure with
// its message.
func TestTimelinePictureOfAFailure(t *testing.T) {
	o := brokenSeed()
	res, _, page := runRecorded(t, o)
	if res.Class != Correctness || res.Stats.Crashes == 0 || res.Stats.Network.Partitions == 0 || res.Stats.Pauses == 0 {
		t.Fatalf("the seed no longer fails with crashes, a partition and a pause: %s (%+v)", res.Class, res.Stats)
	}
	main := mainPanel(t, parsePage(t, page))
	lanes := main.find(byClass("lane"))
	if len(lanes) != o.Replicas {
		t.Fatalf("%d lanes for %d replicas", len(lanes), o.Replicas)
	}
	for i, lane := range lanes {
		if lane.attrs["data-replica"] != strconv.Itoa(i) {
			t.Errorf("lane %d is for replica %q", i, lane.attrs["data-replica"])
		}
		checkLane(t, i, lane)
	}
	for class, what := range map[string]string{"st-primary": "a primary", "st-down": "a crashed replica",
		"paused": "a pause", "mk-crash": "a crash marker", "mk-restart": "a restart marker",
		"net-part": "a partition", "disk-fault": "storage faults", "replies": "client replies"} {
		if len(main.find(byClass(class))) == 0 {
			t.Errorf("no %s (class %s)", what, class)
		}
	}
	checkFailureMarker(t, main, res)
	checkSelfContained(t, page)
}

// checkLane checks one replica's lane: status bands with titles, and a
// commit line that ends above op 0.
func checkLane(t *testing.T, i int, lane *node) {
	t.Helper()
	bands := lane.find(func(n *node) bool { return n.name == "rect" && strings.HasPrefix(n.attrs["class"], "st-") })
	if len(bands) == 0 {
		t.Errorf("replica %d: no status bands", i)
	}
	for _, b := range bands {
		if !strings.HasPrefix(b.title(), fmt.Sprintf("replica %d: ", i)) {
			t.Errorf("replica %d: band titled %q", i, b.title())
			break
		}
	}
	commits := lane.find(byClass("commit"))
	ends := lane.find(byClass("commit-end"))
	if len(commits) != 1 || len(ends) != 1 {
		t.Fatalf("replica %d: %d commit lines, %d end labels", i, len(commits), len(ends))
	}
	if op, err := strconv.Atoi(strings.TrimPrefix(ends[0].text, "op ")); err != nil || op == 0 {
		t.Errorf("replica %d: commit line ends at %q", i, ends[0].text)
	}
}

// checkFailureMarker checks the failure line and its label, which carries
// the message.
func checkFailureMarker(t *testing.T, svg *node, res *Result) {
	t.Helper()
	lines := svg.find(byClass("fail-line"))
	marks := svg.find(byClass("fail"))
	if len(lines) != 1 || len(marks) != 1 {
		t.Fatalf("%d failure lines and %d failure labels, want one each", len(lines), len(marks))
	}
	if !strings.Contains(marks[0].title(), res.Message) {
		t.Errorf("the failure label's title %q lacks the message %q", marks[0].title(), res.Message)
	}
	texts := marks[0].find(byClass("fail-text"))
	if len(texts) != 1 || !strings.Contains(texts[0].text, "CORRECTNESS") {
		t.Errorf("failure label text: %v", texts)
	}
	// The line stands at the failure's time, on the frame's scale.
	x0, _ := strconv.ParseFloat(svg.attrs["data-x0"], 64)
	width, _ := strconv.ParseFloat(svg.attrs["data-width"], 64)
	end, _ := strconv.ParseFloat(svg.attrs["data-end-ns"], 64)
	x, _ := strconv.ParseFloat(lines[0].attrs["x1"], 64)
	if want := x0 + float64(res.TimeNs)/end*width; x < want-1 || x > want+1 {
		t.Errorf("failure line at x=%v, want %v", x, want)
	}
}

// checkSelfContained fails if the page could load anything.
func checkSelfContained(t *testing.T, page []byte) {
	t.Helper()
	for _, re := range []string{`https?:`, `(?i)\ssrc\s*=`, `(?i)\shref\s*=`, `(?i)<link`, `@import`, `url\([^#]`, `//[a-z0-9.-]+\.[a-z]{2,}`} {
		if loc := regexp.MustCompile(re).FindIndex(page); loc != nil {
			t.Errorf("the page may load something (%s): %q", re, page[max(0, loc[0]-40):min(len(page), loc[1]+40)])
		}
	}
}

// A passing run's picture has no failure marker, and says it passed.
func TestTimelinePictureOfAPass(t *testing.T) {
	o := Draw(42, Force{})
	o.RequestsMax = 200
	res, _, page := runRecorded(t, o)
	if res.Class != Pass {
		t.Fatalf("seed 42 failed: %s", res.Message)
	}
	svg := mainPanel(t, parsePage(t, page))
	if n := len(svg.find(byClass("fail-line"))); n != 0 {
		t.Errorf("%d failure lines on a passing run", n)
	}
	if len(svg.find(byClass("phase-line"))) == 0 {
		t.Error("no liveness phase boundary")
	}
	if !bytes.Contains(page, []byte(">passed<")) {
		t.Error("the page does not say the run passed")
	}
}

// Recording changes nothing about the run: same digest, same stats.
func TestTimelineLeavesTheRunAlone(t *testing.T) {
	o := brokenSeed()
	s, err := New(o, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	plain := s.Run()
	recorded, _, _ := runRecorded(t, o)
	if plain.Digest != recorded.Digest || plain.Stats != recorded.Stats || plain.Message != recorded.Message {
		t.Fatalf("recording changed the run: digest %s vs %s", plain.Digest, recorded.Digest)
	}
}

// A recorder that fills up stops at its bound and the picture says so.
func TestTimelineCapped(t *testing.T) {
	s, err := New(brokenSeed(), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	tl := s.RecordTimeline()
	tl.itemsMax = 40
	res := s.Run()
	var page bytes.Buffer
	if err := tl.WriteHTML(&page, res); err != nil {
		t.Fatal(err)
	}
	if !tl.capped || tl.items != 40 {
		t.Fatalf("capped=%v items=%d, want a recorder full at 40", tl.capped, tl.items)
	}
	doc := parsePage(t, page.Bytes())
	if len(doc.find(byClass("capped"))) == 0 || !strings.Contains(page.String(), "timeline capped") {
		t.Error("the picture does not show where recording stopped")
	}
}

// A long run's picture stays small.
func TestTimelineLongRunSize(t *testing.T) {
	if testing.Short() {
		t.Skip("a 30,000-tick run")
	}
	o := Draw(9, Force{})
	o.Bug = "ignore-start-view" // no view change ever ends: the run lasts to its liveness deadline
	res, tl, page := runRecorded(t, o)
	if res.Tick < 30_000 {
		t.Fatalf("the run lasted %d ticks, want a long one", res.Tick)
	}
	if len(page) > 2<<20 {
		t.Errorf("the picture of a %d-tick run is %d bytes", res.Tick, len(page))
	}
	for i := range tl.lanes {
		if b := &tl.lanes[i].commit; len(b.bins) > timelineBinsMax {
			t.Errorf("replica %d: %d commit bins", i, len(b.bins))
		}
	}
	t.Logf("%d ticks, %d events: %d items recorded, page %d bytes", res.Tick, res.Stats.Events, tl.items, len(page))
}

// A binned series keeps its total (or maximum) as its bins widen.
func TestBinSeries(t *testing.T) {
	var sum, most binSeries
	most.maxMode = true
	total := uint64(0)
	for i := range uint64(100_000) {
		at := i * 3 * tickNs
		sum.add(at, i%7)
		most.add(at, i)
		total += i % 7
	}
	if len(sum.bins) > timelineBinsMax || len(most.bins) > timelineBinsMax {
		t.Fatalf("%d and %d bins, want at most %d", len(sum.bins), len(most.bins), timelineBinsMax)
	}
	got := uint64(0)
	for _, v := range sum.bins {
		got += v
	}
	if got != total {
		t.Errorf("sum series holds %d, want %d", got, total)
	}
	if last := most.bins[len(most.bins)-1]; last != 100_000 {
		t.Errorf("max series ends at %d, want 99999+1", last)
	}
}
