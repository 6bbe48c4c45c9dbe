package vsr

import (
	"slices"
	"testing"
)

// TestMarkNames: every mark has a distinct name that parses back to it.
func TestMarkNames(t *testing.T) {
	all := Marks()
	if len(all) != MarkCount-1 {
		t.Fatalf("%d marks listed, MarkCount %d", len(all), MarkCount)
	}
	seen := map[string]bool{}
	for _, m := range all {
		name := m.String()
		if name == "" || name == "mark(?)" || seen[name] {
			t.Errorf("mark %d: name %q missing or repeated", m, name)
		}
		seen[name] = true
		if back, ok := ParseMark(name); !ok || back != m {
			t.Errorf("ParseMark(%q) = %v, %v", name, back, ok)
		}
	}
	if _, ok := ParseMark("no_such_mark"); ok {
		t.Error("ParseMark accepted an unknown name")
	}
	if Mark(0).Valid() || Mark(MarkCount).Valid() || Mark(0).String() != "mark(?)" {
		t.Error("marks outside the range are valid or named")
	}
}

// TestMarksChangeNothing: a chaos run sends the same messages with and
// without a hook, though with one its replicas report marks; and a mark
// reported to a hook allocates nothing.
func TestMarksChangeNothing(t *testing.T) {
	for _, seed := range []uint64{3, 4, 11} {
		hooked := runChaos(t, seed)
		marks := 0
		for _, e := range hooked.events {
			if e.Kind == EventMark {
				marks++
			}
		}
		if marks == 0 {
			t.Fatalf("seed %d: the hooked run reported no mark: the comparison proves nothing", seed)
		}
		ch := newChaos(t, seed, 1+int(seed%6), 3)
		for _, r := range ch.net.replicas {
			r.hook = nil
		}
		bare := playChaos(ch)
		if bare.digest != hooked.digest || !slices.Equal(bare.sent, hooked.sent) {
			t.Fatalf("seed %d: with a hook (%d marks) %d messages digest %s, without %d messages digest %s",
				seed, marks, len(hooked.sent), hooked.digest, len(bare.sent), bare.digest)
		}
	}
	r := newTestNet(t, 1, nil).replicas[0]
	count := 0
	r.hook = func(e *Event) { count++ }
	if allocs := testing.AllocsPerRun(100, func() { r.mark(MarkStaleMessage) }); allocs != 0 {
		t.Fatalf("a mark allocates %.1f times", allocs)
	}
	if count == 0 {
		t.Fatal("the hook saw no mark")
	}
}
