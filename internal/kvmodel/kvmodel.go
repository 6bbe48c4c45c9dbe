// Package kvmodel is the sequential specification of the key-value store
// (vsr/kv) for porcupine: one register per key, with read, write and
// compare-and-set, and calls whose outcome is unknown (no reply) that may
// or may not have taken effect. A harness embeds Call in its own record of
// a call and hands porcupine a *Call as each operation's input.
package kvmodel

import (
	"fmt"
	"sort"

	"github.com/anishathalye/porcupine"
	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/kv"
)

// Kind is a call's operation.
type Kind uint8

// The operations of the store.
const (
	Read Kind = iota + 1
	Write
	CAS
)

// Call is one call and, unless Unknown, its outcome.
type Call struct {
	Kind    Kind
	Key     string
	Value   string // write, cas: what it writes
	From    string // cas: what it expects
	Unknown bool   // no reply: it may or may not have run
	Status  kv.Status
	Output  string // read: the value found; cas mismatch: the value there
}

func (c *Call) String() string {
	var call string
	switch c.Kind {
	case Read:
		call = fmt.Sprintf("read(%s)", c.Key)
	case Write:
		call = fmt.Sprintf("write(%s, %s)", c.Key, c.Value)
	default:
		call = fmt.Sprintf("cas(%s, %s → %s)", c.Key, c.From, c.Value)
	}
	switch {
	case c.Unknown:
		return call + " → ?"
	case c.Output != "":
		return fmt.Sprintf("%s → %s %s", call, c.Status, c.Output)
	}
	return fmt.Sprintf("%s → %s", call, c.Status)
}

// State is one key's value; absent keys have Exists false.
type State struct {
	Exists bool
	Value  string
}

// Step applies c to s if its recorded outcome is possible there. A call
// with an unknown outcome takes effect where it can.
func Step(s State, c *Call) (bool, State) {
	switch c.Kind {
	case Read:
		switch {
		case c.Unknown:
			return true, s
		case c.Status == kv.StatusOK:
			return s.Exists && s.Value == c.Output, s
		}
		return c.Status == kv.StatusNotFound && !s.Exists, s
	case Write:
		if c.Unknown || c.Status == kv.StatusOK {
			return true, State{Exists: true, Value: c.Value}
		}
		return c.Status == kv.StatusFull && !s.Exists, s // a new key that did not fit
	}
	holds := s.Exists && s.Value == c.From
	switch {
	case c.Unknown && holds, c.Status == kv.StatusOK:
		return holds, State{Exists: true, Value: c.Value}
	case c.Unknown:
		return true, s
	case c.Status == kv.StatusMismatch:
		return s.Exists && !holds && s.Value == c.Output, s
	}
	return c.Status == kv.StatusNotFound && !s.Exists, s
}

// Model is the store for porcupine, partitioned by key (in key order, so
// that a report lists the keys the same way every time). Every operation's
// Input is a *Call.
var Model = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, o := range history {
			key := o.Input.(*Call).Key
			byKey[key] = append(byKey[key], o)
		}
		keys := make([]string, 0, len(byKey))
		for key := range byKey {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		parts := make([][]porcupine.Operation, len(keys))
		for i, key := range keys {
			parts[i] = byKey[key]
		}
		return parts
	},
	Init:  func() any { return State{} },
	Step:  stepBoxed,
	Equal: func(a, b any) bool { return a.(State) == b.(State) },
	// Hash lets porcupine's cache of visited states skip most Equal calls.
	Hash: func(state any) uint64 {
		if s := state.(State); s.Exists {
			return vsr.Checksum([]byte(s.Value)).Lo | 1
		}
		return 0
	},
	DescribeOperation: func(input, _ any) string { return input.(*Call).String() },
	DescribeState: func(state any) string {
		if s := state.(State); s.Exists {
			return fmt.Sprintf("%q", s.Value)
		}
		return "absent"
	},
}

// stepBoxed is Step for porcupine, which holds states as interface values:
// a state the call leaves as it was is handed back in the interface value
// it came in, rather than boxed anew (an allocation per step of the
// search: most steps are reads, failed writes and mismatches).
func stepBoxed(state, input, _ any) (bool, any) {
	before := state.(State)
	ok, after := Step(before, input.(*Call))
	if after == before {
		return ok, state
	}
	return ok, after
}
