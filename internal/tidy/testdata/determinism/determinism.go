// Package determinism is synthetic source for the tidy test: each line
// marked want: breaks the rule it names, and no other line breaks any.
package determinism

import (
	crand "crypto/rand"
	"maps"
	"math/rand"
	randv2 "math/rand/v2"
	"slices"
	"sort"
	"time"
)

func clock() time.Duration {
	start := time.Now()             // want:determinism
	time.Sleep(time.Second)         // want:determinism
	t := time.NewTimer(time.Second) // want:determinism
	t.Stop()
	now := time.Now // want:determinism
	_ = now
	return time.Since(start) // want:determinism
}

// durations are numbers, not clock readings.
func durations() time.Duration { return 3 * time.Millisecond }

func goroutine(done chan bool) {
	go func() { done <- true }() // want:determinism
	select {                     // want:determinism
	case <-done:
	default:
	}
}

func random(seed uint64) int {
	n := rand.Intn(10)   // want:determinism
	n += randv2.IntN(10) // want:determinism
	var b [8]byte
	_, _ = crand.Read(b[:]) // want:determinism
	seeded := randv2.New(randv2.NewPCG(seed, seed))
	old := rand.New(rand.NewSource(int64(seed)))
	return n + seeded.IntN(10) + old.Intn(10)
}

func sortedKeys(m map[string]int) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func filteredSorted(m map[int]bool) []int {
	var keys []int
	for k, on := range m {
		if on {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func unsorted(m map[string]int) []string {
	var keys []string
	for k := range m { // want:map-order
		keys = append(keys, k)
	}
	return keys
}

func firstThree(m map[int]bool) []int {
	var keys []int
	for k := range m { // want:map-order
		if len(keys) < 3 { // which three depends on the order
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

type counts struct {
	total, big, limit int
	seen              map[string]bool
}

// add only sums integers, stores at the range key and deletes: any order
// gives the same result.
func (c *counts) add(m map[string]int) {
	for k, v := range m {
		c.total += v
		if v > c.limit {
			c.big++
		}
		c.seen[k] = true
		delete(m, k)
	}
}

func capped(m map[string]int) int {
	total := 0
	for _, v := range m { // want:map-order
		if total < 100 { // reads the running total
			total += v
		}
	}
	return total
}

func storedElsewhere(m map[string]int, out map[int]string) {
	for k, v := range m { // want:map-order
		out[v] = k // two keys with one value: the last one wins
	}
}

func floats(m map[string]float64) float64 {
	sum := 0.0
	for _, v := range m { // want:map-order
		sum += v // float addition rounds differently in another order
	}
	return sum
}

func first(m map[string]int) string {
	for k := range m { // want:map-order
		return k
	}
	return ""
}

func calls(m map[string]int, f func(string)) {
	for k := range m { // want:map-order
		f(k)
	}
	switch len(m) {
	case 1:
		for k := range m { // want:map-order
			f(k)
		}
	}
}

func marked(m map[string]int, f func(string)) {
	// tidy:unordered f only counts its calls
	for k := range m {
		f(k)
	}
	for k := range m { /* want:map-order */ // tidy:unordered
		f(k)
	}
}

func iterators(m map[string]int) []string {
	sorted := slices.Sorted(maps.Keys(m))
	unsorted := slices.Collect(maps.Keys(m)) // want:map-order
	for k := range maps.Keys(m) {            // want:map-order
		sorted = append(sorted, k)
	}
	total := 0
	for _, v := range maps.All(m) {
		total += v
	}
	return append(sorted, unsorted...)
}
