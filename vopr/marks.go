package vopr

import (
	"fmt"
	"strings"

	"github.com/govsr/govsr/vsr"
)

// Coverage marks: the replicas name the rare protocol paths they take
// (vsr/marks.go) and the simulator counts them per run. Counting reads
// nothing back into the run: the digest of a seed is the same with or
// without anyone looking at its marks.

// MarkHits is how many times a run hit one coverage mark.
type MarkHits struct {
	Name  string `json:"name"`
	Count uint64 `json:"count"`
}

// markCounter counts a run's marks, indexed by vsr.Mark.
type markCounter [vsr.MarkCount]uint64

func (c *markCounter) add(m vsr.Mark) {
	if !m.Valid() {
		panic(fmt.Sprintf("vopr: a replica reported an unknown mark %d", m))
	}
	c[m]++
}

// hits lists the marks hit at least once, in vsr's order of marks (a
// fixed order: no map iteration decides it).
func (c *markCounter) hits() []MarkHits {
	var out []MarkHits
	for _, m := range vsr.Marks() {
		if c[m] > 0 {
			out = append(out, MarkHits{Name: m.String(), Count: c[m]})
		}
	}
	return out
}

// MarkNames returns the name of every mark, in vsr's order.
func MarkNames() []string {
	var names []string
	for _, m := range vsr.Marks() {
		names = append(names, m.String())
	}
	return names
}

// CheckMarkNames returns an error naming the first of names that is no
// mark, with the list of valid names.
func CheckMarkNames(names []string) error {
	for _, name := range names {
		if _, ok := vsr.ParseMark(name); !ok {
			return fmt.Errorf("unknown mark %q (known: %s)", name, strings.Join(MarkNames(), ", "))
		}
	}
	return nil
}

// MarkCount returns how many times the run hit the mark named name.
func (r *Result) MarkCount(name string) uint64 {
	for _, h := range r.Marks {
		if h.Name == name {
			return h.Count
		}
	}
	return 0
}

// MarksHit returns the names of the marks the run hit, in vsr's order.
func (r *Result) MarksHit() []string {
	names := make([]string, 0, len(r.Marks))
	for _, h := range r.Marks {
		names = append(names, h.Name)
	}
	return names
}

// MissingMarks returns those of names the run did not hit, in their order.
func (r *Result) MissingMarks(names []string) []string {
	var missing []string
	for _, name := range names {
		if r.MarkCount(name) == 0 {
			missing = append(missing, name)
		}
	}
	return missing
}

// MarksSummary is a compact line of the marks hit and their counts.
func (r *Result) MarksSummary() string {
	if len(r.Marks) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(r.Marks))
	for _, h := range r.Marks {
		parts = append(parts, fmt.Sprintf("%s %d", h.Name, h.Count))
	}
	return strings.Join(parts, ", ")
}
