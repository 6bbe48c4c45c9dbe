package vopr

import (
	"fmt"
	"strings"

	"github.com/govsr/govsr/vsr/kv"
)

// traceWriter writes a scenario's trace: each command as "> command",
// then what followed it, one event a line, at its simulated time. A line
// repeated back to back is written once, with a count of the repeats, so
// that a retry loop reads as one line; and a run of ops one replica
// executed back to back is written as its first and its last.
type traceWriter struct {
	b       strings.Builder
	last    string
	repeats int
	lines   int
	run     appliedRun
}

// appliedRun is a run of consecutive ops one replica executed.
type appliedRun struct {
	replica int
	op      uint64 // the last
	label   string // of the last
	atNs    uint64 // of the last
	count   int
}

// applied traces replica's execution of op (label: what it was).
func (t *traceWriter) applied(atNs uint64, replica int, op uint64, label string) {
	if r := &t.run; r.count > 0 && r.replica == replica && op == r.op+1 {
		r.op, r.label, r.atNs = op, label, atNs
		r.count++
		return
	}
	t.add(atNs, fmt.Sprintf("r%d applied op=%d %s", replica, op, label))
	t.run = appliedRun{replica: replica, op: op, label: label, atNs: atNs, count: 1}
}

// traceLinesMax bounds a trace; a script that writes more is cut short.
const traceLinesMax = 20_000

func (t *traceWriter) command(_ uint64, text string) {
	t.flush()
	t.last = ""
	t.write("> " + text)
}

func (t *traceWriter) add(atNs uint64, text string) {
	if text == t.last {
		t.repeats++
		return
	}
	t.flush()
	t.last = text
	t.write(fmt.Sprintf("%10.3f ms  %s", float64(atNs)/1e6, text))
}

// flush writes the count of repeats of the last line, or the end of a
// run of executions, if any.
func (t *traceWriter) flush() {
	if t.repeats > 0 {
		t.write(fmt.Sprintf("%13s  (%d more times)", "", t.repeats))
		t.repeats = 0
	}
	if r := &t.run; r.count > 1 {
		t.write(fmt.Sprintf("%10.3f ms  r%d applied through op=%d %s (%d ops in a row)", float64(r.atNs)/1e6,
			r.replica, r.op, r.label, r.count))
	}
	t.run.count = 0
}

func (t *traceWriter) write(line string) {
	t.lines++
	switch {
	case t.lines < traceLinesMax:
		t.b.WriteString(line)
		t.b.WriteByte('\n')
	case t.lines == traceLinesMax:
		t.b.WriteString("(trace cut: too long)\n")
	}
}

func (t *traceWriter) String() string {
	t.flush()
	return t.b.String()
}

// replyText is a key-value reply as text: its status, and its value if it
// carries one.
func replyText(body []byte) string {
	reply, err := kv.DecodeReply(body)
	switch {
	case err != nil:
		return fmt.Sprintf("undecodable (%v)", err)
	case reply.Value != nil:
		return fmt.Sprintf("%s %q", reply.Status, reply.Value)
	}
	return reply.Status.String()
}
