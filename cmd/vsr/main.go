// Command vsr runs a real govsr cluster: the same replica core as the
// simulator, over TCP (an epoll loop) and a data file.
//
//	vsr format    --cluster N --replica I --addresses A,B,C --data FILE
//	vsr start     --cluster N --replica I --addresses A,B,C --data FILE
//	vsr benchmark --cluster N --addresses A,B,C [--clients 8] [--requests 10000]
//
// Every replica of a cluster is formatted and started with the same
// --cluster, --addresses and limits. Exit codes: 0 done, 1 failure, 2 bad usage.
package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	mathrand "math/rand/v2"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/govsr/govsr/vsr"
	"github.com/govsr/govsr/vsr/bus"
	"github.com/govsr/govsr/vsr/kv"
	"github.com/govsr/govsr/vsr/storage"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	tick        = 10 * time.Millisecond
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { <-stop; close(done) }()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, done))
}

func run(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "vsr: usage: vsr format|start|benchmark [flags] (vsr COMMAND -h for flags)")
		return exitUsage
	}
	switch args[0] {
	case "format":
		return format(args[1:], stdout, stderr)
	case "start":
		return start(args[1:], stdout, stderr, stop)
	case "benchmark":
		return benchmark(args[1:], stdout, stderr, stop)
	}
	fmt.Fprintf(stderr, "vsr: unknown command %q (want format, start or benchmark)\n", args[0])
	return exitUsage
}

// clusterFlags are the flags every command shares; they fix the options
// the data files are formatted with.
type clusterFlags struct {
	cluster   uint64
	replica   int
	addresses []string
	data      string
	keysMax   int
	messageKB int
	slots     int
}

func parseFlags(name string, args []string, stderr io.Writer, needReplica bool, extra func(fs *flag.FlagSet)) (*clusterFlags, error) {
	f := &clusterFlags{}
	fs := flag.NewFlagSet("vsr "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Uint64Var(&f.cluster, "cluster", 0, "cluster id (non-zero; the same on every replica and client)")
	fs.IntVar(&f.replica, "replica", -1, "this replica's index in --addresses")
	addresses := fs.String("addresses", "", "every replica's IPv4 host:port, comma-separated, in replica order")
	fs.StringVar(&f.data, "data", "", "the replica's data file")
	fs.IntVar(&f.keysMax, "keys-max", 1<<16, "key-value store capacity, in keys")
	fs.IntVar(&f.messageKB, "message-size-max-kib", 64, "largest message, KiB")
	fs.IntVar(&f.slots, "journal-slots", 256, "journal slots")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *addresses != "" {
		f.addresses = strings.Split(*addresses, ",")
	}
	switch {
	case f.cluster == 0:
		return nil, errors.New("--cluster is required and non-zero")
	case len(f.addresses) < 1 || len(f.addresses) > vsr.ReplicasMax:
		return nil, fmt.Errorf("--addresses must list 1 to %d replicas", vsr.ReplicasMax)
	case needReplica && (f.replica < 0 || f.replica >= len(f.addresses)):
		return nil, fmt.Errorf("--replica %d is not an index of --addresses", f.replica)
	case needReplica && f.data == "":
		return nil, errors.New("--data is required")
	}
	return f, nil
}

// build makes the state machine and the replica options the flags
// describe, and checks them: every command derives them the same way, so
// a file formatted by one is opened by the other.
func (f *clusterFlags) build() (*kv.Store, vsr.Options, error) {
	store, err := kv.New(kv.Options{KeysMax: f.keysMax})
	if err != nil {
		return nil, vsr.Options{}, err
	}
	o := vsr.DefaultOptions(vsr.U128{Lo: f.cluster}, uint8(max(f.replica, 0)), uint8(len(f.addresses)))
	o.MessageSizeMax = uint32(f.messageKB) << 10
	o.JournalSlots = f.slots
	o.CheckpointSizeMax = vsr.CheckpointSizeFor(o.ClientsMax, o.MessageSizeMax, store.SnapshotSizeMax())
	return store, o, o.Validate()
}

func usageError(stderr io.Writer, err error) int {
	if !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "vsr: %v\n", err)
	}
	return exitUsage
}

func format(args []string, stdout, stderr io.Writer) int {
	var rejoin bool
	f, err := parseFlags("format", args, stderr, true, func(fs *flag.FlagSet) {
		fs.BoolVar(&rejoin, "rejoin", false, "format a replacement for a replica that lost its data file")
	})
	if err != nil {
		return usageError(stderr, err)
	}
	_, o, err := f.build()
	if err != nil {
		return usageError(stderr, err)
	}
	if err := storage.Format(f.data, o, rejoin); err != nil {
		fmt.Fprintf(stderr, "vsr: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "formatted %s: replica %d of cluster %d, %d bytes (sparse)\n", f.data, f.replica, f.cluster,
		vsr.NewLayout(o).Size)
	return exitOK
}

// seededRandom is a ChaCha8 stream seeded from the OS: real processes
// need no replay, only independence.
func seededRandom() *mathrand.Rand {
	var seed [32]byte
	_, _ = rand.Read(seed[:])
	return mathrand.New(mathrand.NewChaCha8(seed))
}

func start(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	var busFaults string
	var statusInterval time.Duration
	f, err := parseFlags("start", args, stderr, true, func(fs *flag.FlagSet) {
		fs.StringVar(&busFaults, "bus-faults", "", "chaos testing: drop, delay and corrupt messages, e.g. seed=7,drop=1/100,delay=1/50,delay-mean=20ms,corrupt=1/1000,isolate=1/200,isolate-mean=1s (SIGUSR1 arms, SIGUSR2 disarms, SIGHUP isolates for isolate-mean)")
		fs.DurationVar(&statusInterval, "status-interval", 5*time.Second, "how often to print the replica's status line")
	})
	if err != nil {
		return usageError(stderr, err)
	}
	var faultSpec *bus.Faults
	if busFaults != "" {
		if faultSpec, err = bus.ParseFaults(busFaults); err != nil {
			return usageError(stderr, err)
		}
	}
	if statusInterval <= 0 {
		return usageError(stderr, fmt.Errorf("--status-interval %s must be positive", statusInterval))
	}
	store, o, err := f.build()
	if err != nil {
		return usageError(stderr, err)
	}
	file, err := storage.Open(f.data, o)
	if err != nil {
		fmt.Fprintf(stderr, "vsr: %v\n", err)
		return exitFailure
	}
	defer file.Close()
	var replica *vsr.Replica
	loop, err := bus.New(bus.Config{Cluster: o.Cluster, Addresses: f.addresses, Replica: f.replica,
		MessageSizeMax: o.MessageSizeMax, Faults: faultSpec}, func(m []byte) { replica.Receive(m) })
	if err != nil {
		fmt.Fprintf(stderr, "vsr: %v\n", err)
		return exitFailure
	}
	defer loop.Close()
	if faultSpec != nil {
		defer armOnSignals(loop, faultSpec)()
	}
	replica, err = vsr.OpenReplica(o, vsr.Env{Bus: loop, Storage: file, StateMachine: store, Random: seededRandom()})
	if err != nil {
		fmt.Fprintf(stderr, "vsr: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "replica %d of cluster %d listening on %s\n", f.replica, f.cluster, f.addresses[f.replica])
	return serve(replica, file, loop, statusInterval, stdout, stderr, stop)
}

// serve is the replica's loop: storage completions, network, ticks.
func serve(replica *vsr.Replica, file *storage.File, loop *bus.Loop, statusInterval time.Duration, stdout, stderr io.Writer,
	stop <-chan struct{}) int {
	next, report := time.Now().Add(tick), time.Now().Add(statusInterval)
	for {
		select {
		case <-stop:
			fmt.Fprintf(stdout, "replica %d stopping: %s\n", replica.Index(), statusLine(replica))
			return exitOK
		default:
		}
		for range 64 {
			if file.Drain(replica.StorageDone) == 0 {
				break
			}
		}
		if err := replica.OpenError(); err != nil {
			fmt.Fprintf(stderr, "vsr: %v\n", err)
			return exitFailure
		}
		timeout := time.Until(next)
		if file.Pending() {
			timeout = 0
		}
		if err := loop.Poll(max(timeout, 0)); err != nil {
			fmt.Fprintf(stderr, "vsr: %v\n", err)
			return exitFailure
		}
		now := time.Now()
		if now.After(next.Add(100 * tick)) {
			next = now // the process was stopped: do not replay the lost ticks in a burst
		}
		for !now.Before(next) {
			replica.Tick()
			next = next.Add(tick)
		}
		if now.After(report) {
			report = now.Add(statusInterval)
			fmt.Fprintf(stdout, "replica %d: %s\n", replica.Index(), statusLine(replica))
		}
	}
}

// statusLine describes the replica; replicas at the same commit have the
// same digest (of the state machine and the client table), which is how a
// chaos test sees that they agree.
func statusLine(r *vsr.Replica) string {
	return fmt.Sprintf("%s view=%d op=%d commit=%d digest=%s", r.Status(), r.View(), r.Op(), r.CommitMin(), r.Digest())
}

// benchClient is one client of the benchmark with its latencies.
type benchClient struct {
	client    *vsr.Client
	sentAt    time.Time
	done      int
	latencies []time.Duration
	err       error
}

func benchmark(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	var clients, requests int
	var timeout time.Duration
	f, err := parseFlags("benchmark", args, stderr, false, func(fs *flag.FlagSet) {
		fs.IntVar(&clients, "clients", 8, "concurrent clients, one request in flight each")
		fs.IntVar(&requests, "requests", 10_000, "requests in all (writes of 16-byte keys, 64-byte values)")
		fs.DurationVar(&timeout, "timeout", time.Minute, "give up after this long")
	})
	if err != nil {
		return usageError(stderr, err)
	}
	if clients < 1 || clients > 1024 || requests < clients {
		return usageError(stderr, fmt.Errorf("--clients %d must be 1 to 1024 and --requests %d at least as many", clients, requests))
	}
	_, o, err := f.build()
	if err != nil {
		return usageError(stderr, err)
	}
	bench := make(map[vsr.U128]*benchClient, clients)
	var order []*benchClient
	loop, err := bus.New(bus.Config{Cluster: o.Cluster, Addresses: f.addresses, Replica: -1, MessageSizeMax: o.MessageSizeMax},
		func(m []byte) {
			h, err := vsr.DecodeHeader(m[:vsr.HeaderSize])
			if b, ok := bench[h.Client]; err == nil && ok {
				b.client.Receive(m)
			}
		})
	if err != nil {
		fmt.Fprintf(stderr, "vsr: %v\n", err)
		return exitFailure
	}
	defer loop.Close()
	random := seededRandom()
	perClient := requests / clients
	for i := range clients {
		b := &benchClient{}
		id := vsr.U128{Lo: random.Uint64() | 1, Hi: random.Uint64()}
		b.client, err = vsr.NewClient(vsr.ClientOptions{Cluster: o.Cluster, ID: id, ReplicaCount: uint8(len(f.addresses)),
			MessageSizeMax: o.MessageSizeMax}, loop, random, func(r *vsr.ClientResult) { b.result(r, i, perClient, random) })
		if err != nil {
			fmt.Fprintf(stderr, "vsr: %v\n", err)
			return exitFailure
		}
		bench[id], order = b, append(order, b)
	}
	started := time.Now()
	deadline := started.Add(timeout)
	next := started
	for _, b := range order {
		_ = b.client.Register()
	}
	for !benchDone(order, perClient) {
		select {
		case <-stop:
			return exitFailure
		default:
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(stderr, "vsr: benchmark: not done within %s\n", timeout)
			return exitFailure
		}
		if err := loop.Poll(max(time.Until(next), 0)); err != nil {
			fmt.Fprintf(stderr, "vsr: %v\n", err)
			return exitFailure
		}
		for now := time.Now(); !now.Before(next); next = next.Add(tick) {
			for _, b := range order {
				b.client.Tick()
			}
		}
	}
	for _, b := range order {
		if b.err != nil {
			fmt.Fprintf(stderr, "vsr: benchmark: %v\n", b.err)
			return exitFailure
		}
	}
	printBenchmark(stdout, order, time.Since(started))
	return exitOK
}

func benchDone(order []*benchClient, perClient int) bool {
	for _, b := range order {
		if b.done < perClient && b.err == nil {
			return false
		}
	}
	return true
}

// result records a reply and sends the client's next write.
func (b *benchClient) result(r *vsr.ClientResult, index, perClient int, random *mathrand.Rand) {
	if r.Err != nil {
		b.err = r.Err
		return
	}
	if r.Operation != vsr.OperationRegister {
		b.latencies = append(b.latencies, time.Since(b.sentAt))
		b.done++
	}
	if b.done >= perClient {
		return
	}
	var key, value [8]byte
	binary.LittleEndian.PutUint64(key[:], random.Uint64()%1024)
	binary.LittleEndian.PutUint64(value[:], uint64(b.done))
	input, err := kv.EncodeWrite(nil, []byte(fmt.Sprintf("k%d-%x", index, key)), []byte(fmt.Sprintf("%064x", value)))
	if err != nil {
		b.err = err
		return
	}
	b.sentAt = time.Now()
	if _, err := b.client.Submit(kv.OperationWrite, input); err != nil {
		b.err = err
	}
}

func printBenchmark(w io.Writer, order []*benchClient, elapsed time.Duration) {
	var all []time.Duration
	for _, b := range order {
		all = append(all, b.latencies...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(math.Ceil(p*float64(len(all))))-1)]
	}
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header("benchmark", "value")
	_ = t.Append("clients", len(order))
	_ = t.Append("requests replied", len(all))
	_ = t.Append("elapsed", elapsed.Round(time.Millisecond))
	_ = t.Append("throughput", fmt.Sprintf("%.0f requests/s", float64(len(all))/elapsed.Seconds()))
	_ = t.Append("latency p50 / p99 / max", fmt.Sprintf("%s / %s / %s", pct(0.50).Round(time.Microsecond),
		pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond)))
	_ = t.Render()
}
