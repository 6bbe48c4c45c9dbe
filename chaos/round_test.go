package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/govsr/govsr/faults"
	"github.com/govsr/govsr/internal/kvmodel"
	"github.com/govsr/govsr/vsr/kv"
)

const (
	registersPerRound   = 5   // the keys every client reads, writes and swaps
	uniqueWritesMax     = 300 // per client and round: keys written once, each read back after the heal
	uniqueWriteChancePc = 15
)

// worker is one client's view of a round: its session and its history.
type worker struct {
	index   int
	round   int
	random  *faults.PRNG
	seen    map[string]string // the last value this client saw at each key
	unique  int
	history []*operation
}

// round runs chaosFor of faults and workload, heals, and checks.
func (r *run) round(round int, chaosFor time.Duration) error {
	n := newNemesis(r.c, r.random.Stream(fmt.Sprintf("round-%d/nemesis", round)), r.rates)
	if *nemesisFlag {
		if err := n.arm(); err != nil {
			return err
		}
		r.clients.faults.armed.Store(true)
	}
	generate, stopGenerating := context.WithTimeout(context.Background(), chaosFor)
	defer stopGenerating()
	deadline, cancel := context.WithTimeout(context.Background(), chaosFor+*convergeFlag)
	defer cancel()
	workers := make([]*worker, r.clients.count)
	var wg sync.WaitGroup
	for i := range workers {
		workers[i] = &worker{index: i, round: round, random: r.random.Stream(fmt.Sprintf("round-%d/client-%d", round, i)),
			seen: map[string]string{}}
		wg.Add(1)
		go func() { defer wg.Done(); r.work(generate, deadline, workers[i]) }()
	}
	var nemesisErr error
	if *nemesisFlag {
		nemesisErr = n.run(generate)
	}
	<-generate.Done()
	healErr := n.heal()
	r.clients.faults.armed.Store(false)
	healed := time.Now()
	wg.Wait()
	if err := errors.Join(nemesisErr, healErr); err != nil {
		return err
	}
	r.c.note("round %d: the clients stopped %s after the heal; %s so far", round, time.Since(healed).Round(time.Millisecond),
		r.clients.faults)
	var history []*operation
	for _, w := range workers {
		history = append(history, w.history...)
	}
	history = append(history, r.readBack(deadline, round, history)...)
	return r.check(deadline, round, history)
}

// work runs calls until generate ends, each with a timeout of its own
// (Jepsen's: a call that outlives it is indefinite, or failed if it was
// never sent); none outlives deadline.
func (r *run) work(generate, deadline context.Context, w *worker) {
	for generate.Err() == nil {
		req := w.next()
		timeout := time.Duration(w.random.Range(uint64(*callTimeoutFlag/4), uint64(*callTimeoutFlag)))
		ctx, cancel := context.WithTimeout(deadline, timeout)
		r.call(ctx, w, req)
		cancel()
	}
}

// call runs one request and records it.
func (r *run) call(ctx context.Context, w *worker, req request) *operation {
	o := &operation{Call: kvmodel.Call{Kind: req.kind, Key: req.key, Value: req.value, From: req.from},
		client: w.index, call: time.Since(r.began)}
	got := r.clients.do(ctx, req)
	o.ret = time.Since(r.began)
	w.history = append(w.history, o)
	if o.apply(got); got.err != nil {
		return o
	}
	if got.status == kv.StatusOK && req.kind != kvmodel.Read {
		w.seen[req.key] = req.value
	} else if o.Output != "" {
		w.seen[req.key] = o.Output
	}
	return o
}

// next draws the worker's next request: mostly reads, writes and swaps of
// a few shared keys, sometimes a write of a key of its own.
func (w *worker) next() request {
	kind := kvmodel.Kind(1 + w.random.IntN(3))
	key := fmt.Sprintf("r%d-k%d", w.round, w.random.IntN(registersPerRound))
	unique := w.random.IntN(100) < uniqueWriteChancePc && w.unique < uniqueWritesMax
	value := fmt.Sprintf("c%d-%d", w.index, len(w.history))
	if unique {
		w.unique++
		return request{kind: kvmodel.Write, key: fmt.Sprintf("r%d-u%d-%d", w.round, w.index, w.unique), value: value}
	}
	from, ok := w.seen[key]
	if !ok {
		from = "c0-0" // usually absent: the swap fails
	}
	return request{kind: kind, key: key, value: value, from: from}
}

// readBack reads, after the heal, every shared key and every key a unique
// write was acknowledged at, spread over the clients.
func (r *run) readBack(ctx context.Context, round int, history []*operation) []*operation {
	var keys []string
	for k := range registersPerRound {
		keys = append(keys, fmt.Sprintf("r%d-k%d", round, k))
	}
	for _, o := range history {
		if strings.Contains(o.Key, "-u") && o.Status == kv.StatusOK {
			keys = append(keys, o.Key)
		}
	}
	workers := make([]*worker, r.clients.count)
	var wg sync.WaitGroup
	for i := range workers {
		workers[i] = &worker{index: i, round: round, seen: map[string]string{}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := i; k < len(keys); k += len(workers) {
				r.call(ctx, workers[i], request{kind: kvmodel.Read, key: keys[k]}).final = true
			}
		}()
	}
	wg.Wait()
	var reads []*operation
	for _, w := range workers {
		reads = append(reads, w.history...)
	}
	return reads
}

// check writes the round's history and runs the checkers: every call
// replied, every acknowledged unique write read back, porcupine, and the
// replicas' agreement.
func (r *run) check(ctx context.Context, round int, history []*operation) error {
	if f, err := os.Create(filepath.Join(r.dir, fmt.Sprintf("history-round-%d.txt", round))); err == nil {
		writeHistory(f, history)
		f.Close()
	}
	if problems := r.c.problems(); len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	if err := checkErrors(history); err != nil {
		_, lines := r.agreement(time.Now(), 0)
		return fmt.Errorf("%w; the replicas: %s", err, strings.Join(lines, " | "))
	}
	if err := checkUniqueWrites(history); err != nil {
		return err
	}
	if err := checkLinearizable(history, filepath.Join(r.dir, fmt.Sprintf("linearizability-round-%d.html", round))); err != nil {
		return err
	}
	r.t.Logf("round %d: %d calls linearizable; %s; %s so far", round, len(history), summarize(history), r.clients.faults)
	return r.awaitAgreement(ctx, highestOp(history))
}

// checkUniqueWrites finds every acknowledged write of a key written once
// and its read after the heal: the read must find the value.
func checkUniqueWrites(history []*operation) error {
	written := map[string]*operation{}
	var lost []string
	for _, o := range history {
		if o.Kind == kvmodel.Write && o.Status == kv.StatusOK && strings.Contains(o.Key, "-u") {
			written[o.Key] = o
		}
	}
	for _, o := range history {
		w, ok := written[o.Key]
		if o.Kind != kvmodel.Read || !ok || o.call < w.ret {
			continue
		}
		if o.Unknown || o.Status != kv.StatusOK || o.Output != w.Value {
			lost = append(lost, fmt.Sprintf("%s (op %d) then %s", w, w.op, o))
		}
	}
	sort.Strings(lost)
	if len(lost) > 0 {
		return fmt.Errorf("%d acknowledged writes not read back, e.g. %s", len(lost), strings.Join(lost[:min(3, len(lost))], "; "))
	}
	return nil
}

func highestOp(history []*operation) uint64 {
	var op uint64
	for _, o := range history {
		op = max(op, o.op)
	}
	return op
}

// summarize counts the history's calls by outcome.
func summarize(history []*operation) string {
	counts := map[string]int{}
	for _, o := range history {
		switch {
		case o.Unknown:
			counts["unknown"]++
		case o.failed:
			counts["failed"]++
		default:
			counts[o.Status.String()]++
		}
	}
	names := make([]string, 0, len(counts))
	for name := range counts {
		names = append(names, name)
	}
	sort.Strings(names)
	var parts []string
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %d", name, counts[name]))
	}
	return strings.Join(parts, ", ")
}
