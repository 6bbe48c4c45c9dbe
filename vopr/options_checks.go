package vopr

import (
	"fmt"
	"slices"
	"strings"
)

// CheckOptions turn checkers off: a checker that catches a known bug on
// many seeds hides every other failure behind it until the bug is fixed,
// so a swarm may look past it. A checker turned off still counts and logs
// what it would have failed (Stats.IgnoredViolations): never silent.
// Draw turns nothing off; reports store the list, so a replay checks
// what the run checked.
type CheckOptions struct {
	Off []string `json:"off,omitempty"`
}

// Checks lists the checkers that can be turned off.
var Checks = []string{"timestamps", "exactly-once", "promises"}

// ParseCheckList parses a comma-separated list of checker names.
func ParseCheckList(list string) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	var names []string
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(Checks, name) {
			return nil, fmt.Errorf("unknown checker %q (known: %s)", name, strings.Join(Checks, ", "))
		}
		names = append(names, name)
	}
	return names, nil
}

// checkOn reports whether the checker named name is on.
func (o *Options) checkOn(name string) bool { return !slices.Contains(o.Checks.Off, name) }

// lenient stands in for the simulator's verdicts in a checker turned off:
// it counts and logs the failures it is told of.
type lenient struct {
	verdicts
	name  string
	count *uint64
}

// lenientLogsMax bounds how many ignored violations a run logs.
const lenientLogsMax = 8

func (l lenient) fail(class Class, message string) {
	*l.count++
	if *l.count <= lenientLogsMax {
		l.logf(logShort, "IGNORED %s (checker %s off): %s", class, l.name, message)
	}
}

// verdictsFor returns what the checker named name reports to.
func (s *Simulator) verdictsFor(name string) verdicts {
	if s.opts.checkOn(name) {
		return s
	}
	return lenient{verdicts: s, name: name, count: &s.stats.IgnoredViolations}
}
