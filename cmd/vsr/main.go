// Command vsr runs a real govsr cluster: the same replica core as the
// simulator, over TCP (an epoll loop) and a data file.
//
//	vsr format    --cluster N --replica I --addresses A,B,C --data FILE
//	vsr start     --cluster N --replica I --addresses A,B,C --data FILE
//	vsr benchmark --cluster N --addresses A,B,C [--clients 8] [--requests 10000]
//	vsr kv        --cluster N --addresses A,B,C read K | write K V | cas K FROM TO
//
// Every replica of a cluster is formatted and started with the same
// --cluster, --addresses and limits. Exit codes: 0 done, 1 failure, 2 bad
// usage (vsr kv has its own, in its --help).
// This package is flags and wiring only: the replica's loop is in
// server and the load generator in benchmark.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/govsr/govsr/benchmark"
	"github.com/govsr/govsr/server"
	"github.com/govsr/govsr/vsr"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// clientsMaxDefault is the client sessions a cluster holds unless
// formatted with --clients-max.
var clientsMaxDefault = vsr.DefaultOptions(vsr.U128{Lo: 1}, 0, 1).ClientsMax

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { <-stop; close(done) }()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, done))
}

func run(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "vsr: usage: vsr format|start|benchmark|kv [flags] (vsr COMMAND -h for flags and an example)")
		return exitUsage
	}
	switch args[0] {
	case "format":
		return format(args[1:], stdout, stderr)
	case "start":
		return start(args[1:], stdout, stderr, stop)
	case "benchmark":
		return bench(args[1:], stdout, stderr, stop)
	case "kv":
		return kvCommand(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "vsr: unknown command %q (want format, start, benchmark or kv)\n", args[0])
	return exitUsage
}

// fail reports err and returns its exit code: bad usage for a flag or
// configuration error, failure otherwise.
func fail(stderr io.Writer, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitUsage
	}
	fmt.Fprintf(stderr, "vsr: %v\n", err)
	if errors.Is(err, server.ErrConfig) {
		return exitUsage
	}
	return exitFailure
}

func usageError(stderr io.Writer, err error) int {
	if !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "vsr: %v\n", err)
	}
	return exitUsage
}

func format(args []string, stdout, stderr io.Writer) int {
	cmd := newCommand("format", "Creates a replica's data file (sparse, sized by the limits).",
		"vsr format --cluster 7 --replica 0 --addresses 127.0.0.1:3001,127.0.0.1:3002,127.0.0.1:3003 --data 0.vsr", stderr)
	cmd.replicaFlags()
	cmd.limitFlags()
	var rejoin bool
	cmd.fs.BoolVar(&rejoin, "rejoin", false, "format a replacement for a replica that lost its data file")
	if err := cmd.parse(args, true, false); err != nil {
		return usageError(stderr, err)
	}
	c := &cmd.config
	size, err := server.Format(*c, rejoin)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "formatted %s: replica %d of cluster %d, %d bytes (sparse)\n", c.Data, c.Replica, c.Cluster, size)
	return exitOK
}

func start(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	cmd := newCommand("start", "Runs a replica on its data file until SIGINT or SIGTERM. The limits must be those it was formatted with.",
		"vsr start --cluster 7 --replica 0 --addresses 127.0.0.1:3001,127.0.0.1:3002,127.0.0.1:3003 --data 0.vsr", stderr)
	cmd.replicaFlags()
	cmd.limitFlags()
	cmd.fs.StringVar(&cmd.config.MetricsAddress, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics (host:port)")
	cmd.fs.StringVar(&cmd.config.PprofAddress, "pprof", "", "serve Go profiles at http://ADDR/debug/pprof/ (host:port)")
	cmd.fs.IntVar(&cmd.config.PipelineMax, "pipeline-max", server.PipelineMaxDefault, "prepares in flight at the primary")
	busFaults := cmd.chaosFlags()
	if err := cmd.parse(args, true, false); err != nil {
		return usageError(stderr, err)
	}
	c := &cmd.config
	if err := parseBusFaults(c, *busFaults); err != nil {
		return usageError(stderr, err)
	}
	s, err := server.Open(*c, stdout)
	if err != nil {
		return fail(stderr, err)
	}
	defer s.Close()
	if c.BusFaults != nil {
		defer armOnSignals(s.Bus(), c.BusFaults)()
	}
	fmt.Fprintf(stdout, "replica %d of cluster %d listening on %s\n", c.Replica, c.Cluster, c.Addresses[c.Replica])
	if a := s.MetricsAddress(); a != "" {
		fmt.Fprintf(stdout, "metrics at http://%s/metrics\n", a)
	}
	if a := s.PprofAddress(); a != "" {
		fmt.Fprintf(stdout, "profiles at http://%s/debug/pprof/\n", a)
	}
	if err := s.Run(stop); err != nil {
		return fail(stderr, err)
	}
	return exitOK
}

func bench(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	cmd := newCommand("benchmark", "Closed-loop writes (16-byte keys, 64-byte values), each client one request in flight.",
		"vsr benchmark --cluster 7 --addresses 127.0.0.1:3001,127.0.0.1:3002,127.0.0.1:3003 --clients 8 --requests 10000", stderr)
	cmd.messageFlag()
	b := benchmark.Config{}
	var clientsMax int
	cmd.fs.IntVar(&b.Clients, "clients", 8, "concurrent clients, one request in flight each")
	cmd.fs.IntVar(&clientsMax, "clients-max", clientsMaxDefault, "client sessions the cluster holds (as formatted)")
	cmd.fs.IntVar(&b.Requests, "requests", 10_000, "requests in all")
	cmd.fs.DurationVar(&b.Timeout, "timeout", time.Minute, "give up after this long")
	if err := cmd.parse(args, false, false); err != nil {
		return usageError(stderr, err)
	}
	if b.Clients > clientsMax {
		return usageError(stderr, fmt.Errorf("--clients %d is more than the %d sessions the cluster holds (--clients-max): "+
			"each client would evict another; format the cluster with a larger --clients-max and pass it here too",
			b.Clients, clientsMax))
	}
	c := &cmd.config
	b.Cluster, b.Addresses, b.MessageSizeMax = c.Cluster, c.Addresses, c.MessageSizeMax
	if err := b.Check(); err != nil {
		return fail(stderr, err)
	}
	progress := newBenchProgress(stderr, b.Requests/b.Clients*b.Clients)
	b.Progress = progress.update
	result, err := benchmark.Run(b, stop)
	progress.finish()
	if err != nil {
		return fail(stderr, err)
	}
	printBenchmark(stdout, result)
	return exitOK
}

func printBenchmark(w io.Writer, r *benchmark.Result) {
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header("benchmark", "value")
	_ = t.Append("clients", r.Clients)
	_ = t.Append("requests replied", len(r.Latencies))
	_ = t.Append("sessions registered in", r.Registering.Round(time.Millisecond))
	_ = t.Append("elapsed (after registering)", r.Elapsed.Round(time.Millisecond))
	_ = t.Append("throughput", fmt.Sprintf("%.0f requests/s", r.Throughput()))
	for _, p := range []struct {
		name     string
		fraction float64
	}{{"latency p50", 0.50}, {"latency p90", 0.90}, {"latency p99", 0.99}, {"latency p999", 0.999}, {"latency max", 1}} {
		_ = t.Append(p.name, r.Percentile(p.fraction).Round(time.Microsecond))
	}
	_ = t.Render()
}
