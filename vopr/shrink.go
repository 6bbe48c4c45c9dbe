package vopr

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"
)

// Shrinking: a failing seed report comes with every fault the seed drew
// and thousands of requests; Shrink reruns edited copies of its options
// and keeps each edit after which the run still fails the same way, so
// that what is left is a smaller run showing the same bug. It edits the
// recorded options (shrink_edits.go), never draws them again from the
// seed, so everything it does not edit stays as the report had it.
//
// "The same way" (FailureKind): the same class; for correctness and crash
// failures also the same kind of message, the first line of the message
// with every word that holds a digit (replica and op numbers, checksums)
// masked. A state checker failure stays a state checker failure, a panic
// the same panic. A liveness failure's message is a dump of the cluster,
// so the class alone decides there, as it does for unknown (a
// linearizability search out of time) and with ShrinkOptions.ClassOnly.

// ShrinkOptions bound a shrink.
type ShrinkOptions struct {
	// AttemptsMax bounds the runs of edited options (the first replay of
	// the report and the final check of the shrunk one come on top).
	AttemptsMax int
	// ClassOnly makes "the same failure" the same class alone.
	ClassOnly bool
	// GitRevision and GoVersion are recorded in the shrunk report.
	GitRevision, GoVersion string
}

// ShrinkStep is one edit a shrink tried, or skipped.
type ShrinkStep struct {
	Attempt int    // 1 onwards; 0 for an edit skipped without a run
	What    string // the edit, e.g. "fault kind crash off", "requests_max 250"
	Kept    bool   // the run failed the same way: the edit stays
	Skipped string // why the edit was not run, if it was not
	Got     string // the run's outcome: its class and the first line of its message
	Result  *Result
}

// Shrunk is the outcome of a shrink.
type Shrunk struct {
	Original Report
	Report   Report  // the shrunk run's report; Replay reproduces it
	Before   *Result // the original options' run today
	After    *Result // the shrunk options' run
	// DigestChanged says the original report's run no longer has the
	// recorded digest (the code changed since) while it still fails the
	// same way: the shrink started from the run as it is today.
	DigestChanged bool
	Attempts      int
	Kept          int
	// Exhausted says the attempt budget ran out before a pass over every
	// step left the failing run as it was: more attempts might shrink
	// further.
	Exhausted bool
}

// ErrNotFailing is the error of a report whose run does not fail the
// recorded way (today, or ever: a report of a passing run).
var ErrNotFailing = errors.New("vopr: the report's run does not fail")

// shrinkPassesMax bounds the passes over every step; a pass that leaves
// the failing run as it was ends the shrink before.
const shrinkPassesMax = 3

// Shrink reduces the failing run of r while it fails the same way.
// progress, if not nil, sees every step as it is decided.
func Shrink(r Report, so ShrinkOptions, progress func(ShrinkStep)) (*Shrunk, error) {
	if so.AttemptsMax < 1 {
		return nil, fmt.Errorf("vopr: shrink: attempts max %d below 1", so.AttemptsMax)
	}
	if r.Class == Pass {
		return nil, fmt.Errorf("%w: the report records a run that passed", ErrNotFailing)
	}
	before, err := runOnce(r.Options)
	if err != nil {
		return nil, err
	}
	want := FailureKind(r.Class, r.Message, so.ClassOnly)
	if got := FailureKind(before.Class, before.Message, so.ClassOnly); got != want {
		return nil, fmt.Errorf("%w as recorded: recorded %q, now %q", ErrNotFailing, want, got)
	}
	sh := &shrinker{so: so, want: want, original: r.Options, best: r.Options, bestRes: before, progress: progress}
	sh.run()
	if FailureKind(sh.bestRes.Class, sh.bestRes.Message, so.ClassOnly) != want || sh.attempts > so.AttemptsMax {
		panic(fmt.Sprintf("vopr: shrink kept a run that fails as %q, or ran %d attempts of %d",
			Headline(sh.bestRes.Class, sh.bestRes.Message), sh.attempts, so.AttemptsMax))
	}
	out := &Shrunk{Original: r, Before: before, After: sh.bestRes, DigestChanged: before.Digest != r.Digest,
		Attempts: sh.attempts, Kept: sh.kept, Exhausted: sh.exhausted()}
	out.Report = NewReport(sh.best, sh.bestRes, so.GitRevision, so.GoVersion)
	// The shrunk report must replay: a run that differs from the one it
	// was kept on would be nondeterminism, worth a loud error.
	again, same, err := Replay(out.Report, nil, logNone)
	if err != nil {
		return nil, err
	}
	if !same {
		return nil, fmt.Errorf("vopr: shrink: the shrunk report does not replay: %s digest %s, then %s digest %s",
			out.Report.Class, out.Report.Digest, again.Class, again.Digest)
	}
	return out, nil
}

// FailureKind is what two runs must share to fail "the same way".
func FailureKind(class Class, message string, classOnly bool) string {
	if classOnly || class == Pass || class == Liveness || class == Unknown {
		return string(class)
	}
	first, _, _ := strings.Cut(message, "\n")
	return string(class) + ": " + maskNumbers(first)
}

// maskNumbers replaces every word of s that holds a digit with "#".
func maskNumbers(s string) string {
	var b strings.Builder
	word := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }
	for i := 0; i < len(s); {
		end := i + strings.IndexFunc(s[i:], func(r rune) bool { return !word(r) })
		if end < i {
			end = len(s)
		}
		if end == i {
			b.WriteByte(s[i])
			i++
			continue
		}
		if strings.ContainsFunc(s[i:end], unicode.IsDigit) {
			b.WriteByte('#')
		} else {
			b.WriteString(s[i:end])
		}
		i = end
	}
	return b.String()
}

func runOnce(o Options) (*Result, error) {
	s, err := New(o, nil, logNone)
	if err != nil {
		return nil, err
	}
	return s.Run(), nil
}

// shrinker holds the smallest failing options found so far.
type shrinker struct {
	so       ShrinkOptions
	want     string
	original Options
	best     Options
	bestRes  *Result
	attempts int
	kept     int
	progress func(ShrinkStep)
}

func (sh *shrinker) exhausted() bool { return sh.attempts >= sh.so.AttemptsMax }

// run makes passes over every step until one leaves the failing run as
// it was: a pass that kept only edits under which the run stayed event
// for event the same (same digest) would try the same edits on the same
// run again.
func (sh *shrinker) run() {
	requests, ticks := sh.requestsOption(), sh.ticksOption()
	sh.tryHint(&requests)
	sh.tryHint(&ticks)
	for range shrinkPassesMax {
		digestBefore := sh.bestRes.Digest
		sh.faultKinds()
		sh.lower(sh.clientsOption())
		sh.lower(sh.replicasOption())
		sh.lower(requests)
		sh.lower(ticks)
		sh.livenessTicks()
		if sh.bestRes.Digest == digestBefore || sh.exhausted() {
			return
		}
	}
}

// intOption is an integer option a shrink lowers.
type intOption struct {
	name  string
	floor int
	get   func(Options) int
	set   func(Options, int) (Options, error)
	// hint, if not nil, is the value to try first, with why: the end of
	// the safety phase right after the failure, by replies or by ticks.
	// A run that failed in the safety phase runs exactly as before, so
	// the hint costs one run and shortens every later one.
	hint func(*Result) (int, string)
}

func (sh *shrinker) requestsOption() intOption {
	return intOption{name: "requests_max", floor: 1, get: func(o Options) int { return o.RequestsMax },
		set:  func(o Options, v int) (Options, error) { o.RequestsMax = v; return o, nil },
		hint: func(r *Result) (int, string) { return int(r.Stats.Replies) + 1, "the replies at the failure, plus one" }}
}

func (sh *shrinker) ticksOption() intOption {
	return intOption{name: "ticks_max", floor: 1, get: func(o Options) int { return o.TicksMax },
		set:  func(o Options, v int) (Options, error) { o.TicksMax = v; return o, nil },
		hint: func(r *Result) (int, string) { return int(r.Tick) + 1, "the failure's tick, plus one" }}
}

func (sh *shrinker) clientsOption() intOption {
	return intOption{name: "clients", floor: 1, get: func(o Options) int { return o.Clients },
		set: func(o Options, v int) (Options, error) { return sh.withRoom(withClients(o, v)), nil }}
}

func (sh *shrinker) replicasOption() intOption {
	return intOption{name: "replicas", floor: 1, get: func(o Options) int { return o.Replicas },
		set: func(o Options, v int) (Options, error) { o, err := withReplicas(o, v); return sh.withRoom(o), err }}
}

// withRoom gives o the ticks the report's safety phase had: a cluster of
// fewer clients or replicas may take longer to reach the failure than the
// one whose safety phase the shrink cut short. The ticks bisection that
// follows cuts it again.
func (sh *shrinker) withRoom(o Options) Options {
	o.TicksMax = max(o.TicksMax, sh.original.TicksMax)
	return o
}

// faultKinds turns each fault kind that is on off, one at a time.
func (sh *shrinker) faultKinds() {
	for _, kind := range sh.best.Enabled() {
		if sh.exhausted() {
			return
		}
		if !slices.Contains(sh.best.Enabled(), kind) {
			continue // an earlier edit turned it off with another kind
		}
		sh.try("fault kind "+kind+" off", withoutKind(sh.best, kind))
	}
}

// livenessTicks lowers the liveness phase's bound, except for a liveness
// failure: there a shorter bound would call a slow run stalled, a
// different failure than the one recorded.
func (sh *shrinker) livenessTicks() {
	if sh.bestRes.Class == Liveness {
		return
	}
	sh.lower(intOption{name: "liveness_ticks_max", floor: livenessTicksMin,
		get: func(o Options) int { return o.LivenessTicksMax },
		set: func(o Options, v int) (Options, error) { o.LivenessTicksMax = v; return o, nil }})
}

// livenessTicksMin is the least liveness_ticks_max Validate accepts.
const livenessTicksMin = 100

// tryValue tries option opt at value v.
func (sh *shrinker) tryValue(opt *intOption, v int, why string) bool {
	o, err := opt.set(sh.best, v)
	what := fmt.Sprintf("%s %d%s", opt.name, v, why)
	if err != nil {
		sh.report(ShrinkStep{What: what, Skipped: err.Error()})
		return false
	}
	return sh.try(what, o)
}

// tryHint tries opt's hint, if it has one below the current value.
func (sh *shrinker) tryHint(opt *intOption) {
	if opt.hint == nil {
		return
	}
	if v, why := opt.hint(sh.bestRes); v >= opt.floor && v < opt.get(sh.best) {
		sh.tryValue(opt, v, " ("+why+")")
	}
}

// lower finds a smaller value of an integer option at which the run still
// fails the same way: its hint first, then its floor, then a bisection
// between the floor and the current value, down to a step of
// 1/bisectFraction of it (the last few ticks or requests are not worth
// their attempts). The failure need not be monotonic in the value; every
// value kept is one that failed.
func (sh *shrinker) lower(opt intOption) {
	sh.tryHint(&opt)
	cur := opt.get(sh.best)
	if cur <= opt.floor || sh.tryValue(&opt, opt.floor, "") {
		return
	}
	lo, hi := opt.floor+1, cur // hi fails; below lo, nothing was kept
	for lo < hi && hi-lo > hi/bisectFraction && !sh.exhausted() {
		mid := lo + (hi-lo)/2
		if sh.tryValue(&opt, mid, "") {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
}

// bisectFraction: a bisection stops once the range left is within
// 1/bisectFraction of the value kept.
const bisectFraction = 32

// try runs o and keeps it if the run fails the same way.
func (sh *shrinker) try(what string, o Options) bool {
	if reflect.DeepEqual(o, sh.best) {
		return false
	}
	if sh.exhausted() {
		return false // Shrunk.Exhausted says so, once
	}
	if err := o.Validate(); err != nil {
		sh.report(ShrinkStep{What: what, Skipped: err.Error()})
		return false
	}
	sh.attempts++
	res, err := runOnce(o)
	if err != nil { // Validate passed, so New only fails building replicas or clients
		sh.report(ShrinkStep{Attempt: sh.attempts, What: what, Got: err.Error()})
		return false
	}
	step := ShrinkStep{Attempt: sh.attempts, What: what, Result: res, Got: Headline(res.Class, res.Message),
		Kept: FailureKind(res.Class, res.Message, sh.so.ClassOnly) == sh.want}
	if step.Kept {
		sh.best, sh.bestRes = o, res
		sh.kept++
	}
	sh.report(step)
	return step.Kept
}

func (sh *shrinker) report(step ShrinkStep) {
	if sh.progress != nil {
		sh.progress(step)
	}
}

// headlineLengthMax bounds the message a headline quotes.
const headlineLengthMax = 100

// Headline is a failure's class and the first line of its message, cut
// short.
func Headline(class Class, message string) string {
	first, _, _ := strings.Cut(message, "\n")
	if len(first) > headlineLengthMax {
		first = first[:headlineLengthMax] + "..."
	}
	if first == "" {
		return string(class)
	}
	return string(class) + ": " + first
}
