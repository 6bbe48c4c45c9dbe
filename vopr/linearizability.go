package vopr

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/kv"
)

// linearizabilityTimeout bounds porcupine's search. It is the only wall
// time the simulator touches, and only after the run: it decides whether
// the verdict is a proof (ok, illegal) or unknown, never what happened.
const linearizabilityTimeout = 20 * time.Second

type linVerdict string

const (
	linOK      linVerdict = "ok"
	linIllegal linVerdict = "illegal"
	linUnknown linVerdict = "unknown"
)

type linResult struct {
	verdict   linVerdict
	message   string
	visualize func(path string) error
}

// kvState is one key's value in the model; absent keys have exists false.
type kvState struct {
	exists bool
	value  string
}

// kvModel is the sequential specification of one key of the store.
// Histories are partitioned by key; an op with an unknown outcome may take
// effect or not, and a read with an unknown outcome constrains nothing.
var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(*historyOp).key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Strings(keys)
		parts := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, byKey[k])
		}
		return parts
	},
	Init: func() any { return kvState{} },
	Step: func(state, input, _ any) (bool, any) {
		return kvStep(state.(kvState), input.(*historyOp))
	},
	Equal: func(a, b any) bool { return a.(kvState) == b.(kvState) },
	// Hash lets porcupine's cache of visited states skip most Equal calls.
	Hash: func(state any) uint64 {
		s := state.(kvState)
		if !s.exists {
			return 0
		}
		return vsr.Checksum([]byte(s.value)).Lo | 1
	},
	DescribeOperation: func(input, _ any) string {
		op := input.(*historyOp)
		out := fmt.Sprintf("%s → %s %q", op.describe(), op.status, op.output)
		if op.unknown {
			out = op.describe() + " → ?"
		}
		return out
	},
	DescribeState: func(state any) string {
		s := state.(kvState)
		if !s.exists {
			return "absent"
		}
		return fmt.Sprintf("%q", s.value)
	},
}

func (op *historyOp) describe() string {
	switch op.kind {
	case opRead:
		return fmt.Sprintf("read(%s)", op.key)
	case opWrite:
		return fmt.Sprintf("write(%s, %s)", op.key, op.value)
	default:
		return fmt.Sprintf("cas(%s, %s → %s)", op.key, op.from, op.value)
	}
}

// kvStep applies op to state if its recorded outcome is possible there.
func kvStep(state kvState, op *historyOp) (bool, kvState) {
	switch op.kind {
	case opRead:
		switch {
		case op.unknown:
			return true, state
		case op.status == kv.StatusOK:
			return state.exists && state.value == op.output, state
		default:
			return op.status == kv.StatusNotFound && !state.exists, state
		}
	case opWrite:
		return op.unknown || op.status == kv.StatusOK, kvState{exists: true, value: op.value}
	}
	matches := state.exists && state.value == op.from
	switch {
	case op.unknown:
		if matches {
			return true, kvState{exists: true, value: op.value}
		}
		return true, state
	case op.status == kv.StatusOK:
		return matches, kvState{exists: true, value: op.value}
	case op.status == kv.StatusMismatch:
		return state.exists && !matches && state.value == op.output, state
	default:
		return op.status == kv.StatusNotFound && !state.exists, state
	}
}

// checkLinearizability checks the clients' history with porcupine. An op
// without a reply returns after every other op, so it may linearize last,
// which is the same as not having happened. Two kinds of op without a reply
// are left out, as they constrain nothing: reads, and requests that never
// committed (the canonical history, complete once the cluster converged,
// does not hold them). Without that, a run with many evictions hands
// porcupine thousands of ops that may linearize anywhere.
func (s *Simulator) checkLinearizability() linResult {
	committed := s.check.committedRequests()
	ops := make([]porcupine.Operation, 0, len(s.check.history))
	for i := range s.check.history {
		op := &s.check.history[i]
		ret := int64(op.retNs)
		if op.unknown || op.retNs == 0 {
			op.unknown = true
			ret = math.MaxInt64
			if _, ok := committed[op.request]; op.kind == opRead || !ok {
				continue
			}
		}
		ops = append(ops, porcupine.Operation{ClientId: op.client, Input: op, Call: int64(op.callNs), Output: op, Return: ret})
	}
	result, info := porcupine.CheckOperationsVerbose(kvModel, ops, linearizabilityTimeout)
	switch result {
	case porcupine.Ok:
		return linResult{verdict: linOK}
	case porcupine.Illegal:
		return linResult{verdict: linIllegal,
			message:   fmt.Sprintf("the history of %d operations is not linearizable", len(ops)),
			visualize: func(path string) error { return porcupine.VisualizePath(kvModel, info, path) }}
	}
	return linResult{verdict: linUnknown,
		message: fmt.Sprintf("search of %d operations not done within %s", len(ops), linearizabilityTimeout)}
}
