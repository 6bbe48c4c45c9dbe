package kvmodel

import (
	"testing"

	"github.com/govsr/govsr/vsr/kv"
)

// Each outcome is possible in exactly the states the store would give it.
func TestStep(t *testing.T) {
	absent, a := State{}, State{Exists: true, Value: "a"}
	cases := []struct {
		call      Call
		from      State
		ok        bool
		to        State
		described string
	}{
		{Call{Kind: Read, Key: "k", Status: kv.StatusOK, Output: "a"}, a, true, a, "read(k) → ok a"},
		{Call{Kind: Read, Key: "k", Status: kv.StatusOK, Output: "a"}, absent, false, absent, ""},
		{Call{Kind: Read, Key: "k", Status: kv.StatusNotFound}, a, false, a, "read(k) → not_found"},
		{Call{Kind: Read, Key: "k", Unknown: true}, a, true, a, "read(k) → ?"},
		{Call{Kind: Write, Key: "k", Value: "b", Status: kv.StatusOK}, a, true, State{true, "b"}, ""},
		{Call{Kind: Write, Key: "k", Value: "b", Status: kv.StatusFull}, a, false, a, ""},
		{Call{Kind: Write, Key: "k", Value: "b", Status: kv.StatusFull}, absent, true, absent, ""},
		{Call{Kind: Write, Key: "k", Value: "b", Unknown: true}, absent, true, State{true, "b"}, ""},
		{Call{Kind: CAS, Key: "k", From: "a", Value: "b", Status: kv.StatusOK}, a, true, State{true, "b"}, "cas(k, a → b) → ok"},
		{Call{Kind: CAS, Key: "k", From: "x", Value: "b", Status: kv.StatusOK}, a, false, State{true, "b"}, ""},
		{Call{Kind: CAS, Key: "k", From: "x", Value: "b", Status: kv.StatusMismatch, Output: "a"}, a, true, a, ""},
		{Call{Kind: CAS, Key: "k", From: "a", Value: "b", Status: kv.StatusMismatch, Output: "a"}, a, false, a, ""},
		{Call{Kind: CAS, Key: "k", From: "a", Value: "b", Status: kv.StatusNotFound}, absent, true, absent, ""},
		{Call{Kind: CAS, Key: "k", From: "a", Value: "b", Unknown: true}, a, true, State{true, "b"}, ""},
		{Call{Kind: CAS, Key: "k", From: "x", Value: "b", Unknown: true}, a, true, a, ""},
	}
	for i, c := range cases {
		ok, to := Step(c.from, &c.call)
		if ok != c.ok || ok && to != c.to {
			t.Errorf("case %d: %s from %+v: %t %+v, want %t %+v", i, &c.call, c.from, ok, to, c.ok, c.to)
		}
		if c.described != "" && c.call.String() != c.described {
			t.Errorf("case %d: described %q, want %q", i, c.call.String(), c.described)
		}
	}
}

// TestStepBoxed: the model's Step gives Step's verdict and state; a state
// left as it was comes back in the interface value it came in, without an
// allocation.
func TestStepBoxed(t *testing.T) {
	a := any(State{Exists: true, Value: "a"})
	read := &Call{Kind: Read, Key: "k", Status: kv.StatusOK, Output: "a"}
	if ok, next := Model.Step(a, read, nil); !ok || next != a {
		t.Fatalf("read: %v, %v; want true and the state unchanged", ok, next)
	}
	write := &Call{Kind: Write, Key: "k", Value: "b", Status: kv.StatusOK}
	if ok, next := Model.Step(a, write, nil); !ok || next.(State) != (State{Exists: true, Value: "b"}) {
		t.Fatalf("write: %v, %v; want true and state b", ok, next)
	}
	mismatch := &Call{Kind: CAS, Key: "k", From: "x", Value: "b", Status: kv.StatusMismatch, Output: "b"}
	if ok, next := Model.Step(a, mismatch, nil); ok || next != a {
		t.Fatalf("cas mismatch against the wrong value: %v, %v; want false and the state unchanged", ok, next)
	}
	if allocs := testing.AllocsPerRun(100, func() { Model.Step(a, read, nil) }); allocs != 0 {
		t.Fatalf("a read allocates %v times a step, want 0", allocs)
	}
}
