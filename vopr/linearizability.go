package vopr

import (
	"fmt"
	"math"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/govsr/govsr/internal/kvmodel"
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

// call is op as the store's sequential specification (kvmodel) sees it.
func (op *historyOp) call() kvmodel.Call {
	kinds := [...]kvmodel.Kind{opRead: kvmodel.Read, opWrite: kvmodel.Write, opCAS: kvmodel.CAS}
	return kvmodel.Call{Kind: kinds[op.kind], Key: op.key, Value: op.value, From: op.from, Unknown: op.unknown,
		Status: op.status, Output: op.output}
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
	calls := make([]kvmodel.Call, len(s.check.history))
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
		calls[i] = op.call()
		ops = append(ops, porcupine.Operation{ClientId: op.client, Input: &calls[i], Call: int64(op.callNs), Output: op, Return: ret})
	}
	result, info := porcupine.CheckOperationsVerbose(kvmodel.Model, ops, linearizabilityTimeout)
	switch result {
	case porcupine.Ok:
		return linResult{verdict: linOK}
	case porcupine.Illegal:
		return linResult{verdict: linIllegal,
			message:   fmt.Sprintf("the history of %d operations is not linearizable", len(ops)),
			visualize: func(path string) error { return porcupine.VisualizePath(kvmodel.Model, info, path) }}
	}
	return linResult{verdict: linUnknown,
		message: fmt.Sprintf("search of %d operations not done within %s", len(ops), linearizabilityTimeout)}
}
