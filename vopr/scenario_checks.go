package vopr

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/govsr/govsr/vsr"
)

// The scenario's time and assertions: tick, deliver, until, expect and
// the end of the run (check).

// arg is one key=value argument, in the order given.
type arg struct{ key, value string }

// args parses key=value arguments; a key may come once.
func (sc *script) args(list []string) []arg {
	out := make([]arg, 0, len(list))
	for _, a := range list {
		k, v := sc.pair(a)
		if slices.ContainsFunc(out, func(o arg) bool { return o.key == k }) {
			sc.fail("%s given twice", k)
		}
		out = append(out, arg{key: k, value: v})
	}
	return out
}

// execChecks runs a time or assertion command; it reports whether cmd is one.
func (sc *script) execChecks(cmd string, args []string) bool {
	switch cmd {
	case "tick":
		if len(args) != 1 {
			sc.fail("tick N")
		}
		sc.runTicks(sc.num(args[0]))
	case "deliver":
		sc.deliver()
	case "until":
		sc.until(args)
	case "expect":
		i, want := sc.replicaAndFields(args)
		if diff := sc.mismatch(i, want); diff != "" {
			sc.fail("%s", diff)
		}
	case "expect-applied":
		sc.expectApplied(sc.replica(args[0]), args[1:])
	case "expect-sent":
		sc.expectSent(args)
	case "check":
		sc.check()
	default:
		return false
	}
	return true
}

func (sc *script) replicaAndFields(args []string) (int, []arg) {
	if len(args) < 2 {
		sc.fail("want a replica and FIELD=VALUE")
	}
	return sc.replica(args[0]), sc.args(args[1:])
}

// until runs a tick at a time until replica I matches: until rI FIELD=VALUE... [limit=TICKS].
func (sc *script) until(args []string) {
	i, want := sc.replicaAndFields(args)
	limit := 2000
	if k := slices.IndexFunc(want, func(a arg) bool { return a.key == "limit" }); k >= 0 {
		limit = sc.num(want[k].value)
		want = slices.Delete(want, k, k+1)
	}
	sc.runUntil(limit, "until", func() bool { return sc.mismatch(i, want) == "" })
}

// mismatch says how replica i differs from want, or "".
func (sc *script) mismatch(i int, want []arg) string {
	var diffs []string
	for _, w := range want {
		if got := sc.field(i, w.key); got != w.value {
			diffs = append(diffs, fmt.Sprintf("r%d %s=%s, want %s", i, w.key, got, w.value))
		}
	}
	return strings.Join(diffs, "; ")
}

// field returns one field of replica i's state, as text.
func (sc *script) field(i int, key string) string {
	sr := sc.sim.replicas[i]
	r := sr.replica
	switch key {
	case "status":
		return r.Status().String()
	case "view":
		return fmt.Sprint(r.View())
	case "log_view":
		return fmt.Sprint(r.LogView())
	case "op":
		return fmt.Sprint(r.Op())
	case "commit_min":
		return fmt.Sprint(r.CommitMin())
	case "commit_max":
		return fmt.Sprint(r.CommitMax())
	case "primary":
		return strconv.FormatBool(r.IsPrimary())
	case "down":
		return strconv.FormatBool(sr.down)
	case "paused":
		return strconv.FormatBool(sr.paused)
	case "opening":
		return strconv.FormatBool(r.Opening())
	case "durable_view":
		return fmt.Sprint(sc.durable[i])
	case "state_transfers":
		return fmt.Sprint(r.Stats().StateTransfers)
	case "journal_faulty":
		return strconv.FormatBool(r.JournalFaulty())
	case "checkpoint":
		op, _ := r.DurableCheckpoint()
		return fmt.Sprint(op)
	}
	name, opText, ok := strings.Cut(key, ":")
	if ok && name == "has_prepare" {
		return strconv.FormatBool(r.HasPrepare(uint64(sc.num(opText))))
	}
	if ok && name == "nackable" {
		return strconv.FormatBool(r.Nackable(uint64(sc.num(opText))))
	}
	sc.fail("unknown replica field %q", key)
	return ""
}

// expectApplied compares the labels of what replica i executed with want.
func (sc *script) expectApplied(i int, want []string) {
	got := make([]string, 0, len(sc.applied[i]))
	for _, a := range sc.applied[i] {
		got = append(got, a.label)
	}
	if !slices.Equal(got, want) {
		sc.fail("r%d applied %v, want %v", i, got, want)
	}
}

// expectSent compares how many messages of a command were sent:
// expect-sent COMMAND [from=N] count=N|min=N.
func (sc *script) expectSent(args []string) {
	if len(args) < 2 {
		sc.fail("expect-sent COMMAND [from=N] count=N|min=N")
	}
	command := sc.command(args[0])
	got, from := 0, -1
	opts := sc.args(args[1:])
	for _, a := range opts {
		if a.key == "from" {
			from = sc.node(a.value)
		}
	}
	for node := range sc.sim.net.nodes {
		if from < 0 || node == from {
			got += sc.sent[sentKey{command: command, node: node}]
		}
	}
	for _, a := range opts {
		switch {
		case a.key == "from":
		case a.key == "count" && got != sc.num(a.value):
			sc.fail("%d %s sent, want %s", got, command, a.value)
		case a.key == "min" && got < sc.num(a.value):
			sc.fail("%d %s sent, want at least %s", got, command, a.value)
		case a.key != "count" && a.key != "min":
			sc.fail("unknown argument %q", a.key)
		}
	}
}

// check ends the run as the simulator ends a seed: every fault stops and
// every replica heals (heal-everything liveness), the cluster must finish
// its clients' requests and converge within the liveness bound, and the
// clients' history must be linearizable.
func (sc *script) check() {
	sc.done = true
	sc.drops = nil
	for i := range sc.holding {
		sc.releaseIO(i)
	}
	clear(sc.parted)
	s := sc.sim
	s.startLiveness()
	sc.trace.add(s.now, "liveness phase: faults off, every replica healed")
	for s.phase == phaseLiveness && s.failure == nil {
		s.runEvent()
	}
	sc.checkFailure()
	res := s.finish()
	if res.Class != Pass {
		sc.fail("%s: %s", res.Class, res.Message)
	}
	text := fmt.Sprintf("converged at op %d; linearizability %s", s.check.committed(), res.Linearizability)
	if res.Excuse != "" {
		text += "; excused: " + res.Excuse
	}
	sc.trace.add(s.now, text)
	sc.trace.flush()
}

// onEvent traces a replica's event.
func (sc *script) onEvent(i int, e *vsr.Event) {
	var text string
	switch e.Kind {
	case vsr.EventStatus:
		text = fmt.Sprintf("r%d %s view=%d log_view=%d op=%d commit=%d", i, e.Status, e.View, e.LogView, e.Op, e.Commit)
	case vsr.EventOpened:
		sc.durable[i] = e.View
		text = fmt.Sprintf("r%d opened view=%d log_view=%d op=%d commit=%d", i, e.View, e.LogView, e.Op, e.Commit)
	case vsr.EventApplied:
		label := sc.noteApplied(i, e)
		if sc.loading {
			return // a load's executions are summed up when it ends
		}
		sc.trace.applied(sc.sim.now, i, e.Op, label)
		return
	case vsr.EventDurable:
		sc.durable[i] = e.View
		return
	case vsr.EventCheckpoint:
		if e.Op == sc.checkpoint[i] {
			return // the same checkpoint, recorded again with a new view
		}
		sc.checkpoint[i] = e.Op
		text = fmt.Sprintf("r%d %s op=%d", i, e.Kind, e.Op)
	case vsr.EventStateTransfer:
		text = fmt.Sprintf("r%d %s op=%d", i, e.Kind, e.Op)
	case vsr.EventEvicted:
		text = fmt.Sprintf("r%d evicted %s", i, sc.clientName(e.Client))
	case vsr.EventViolation:
		text = fmt.Sprintf("r%d VIOLATION", i)
	case vsr.EventMark:
		text = fmt.Sprintf("r%d mark %s op=%d", i, e.Mark, e.Op)
	default:
		return
	}
	if e.Reason != "" && e.Kind != vsr.EventMark {
		text += ": " + e.Reason
	}
	sc.trace.add(sc.sim.now, text)
}

func (sc *script) clientName(id vsr.U128) string {
	if k, ok := sc.sim.clientOf[id]; ok && k < len(sc.clientNames) {
		return "c" + sc.clientNames[k]
	}
	return "client " + id.String()
}
