package vopr

import (
	"slices"
	"strings"
)

// Bugs of issue 8 that today's vsr still has, as the checkers see them.
// Each entry must keep failing as stated: when its bug is fixed, the tests
// say so, and the entry goes.

// knownBroken lists checkers that today's vsr fails on many seeds, and what
// their failure message says. Tests that need a clean run turn them off
// (they still count and log what they would fail); TestSeedsPass shows each
// still fires. Empty it once the bugs are fixed.
var knownBroken = map[string]string{}

// knownBrokenChecks returns the names of knownBroken, sorted.
func knownBrokenChecks() []string {
	var names []string
	for name := range knownBroken {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// firesKnownBroken reports whether a failure message is a knownBroken
// checker's.
func firesKnownBroken(message string) bool {
	for _, signature := range knownBroken {
		if strings.Contains(message, signature) {
			return true
		}
	}
	return false
}

// knownFailures are seeds of TestSeedsPass that today's vsr fails even with
// the knownBroken checkers off, with what their failure says.
var knownFailures = map[uint64]string{}
