package vsr

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Scripted scenarios: testdata/scenarios/*.txt drive the test network step
// by step (partition, drop, deliver, tick) and assert the replicas' state
// as they go. Each line is a command; '#' starts a comment. Commands:
//
//	cluster N [pipeline=P] [abdicate=T] [clients_max=C] [queue=Q]
//	client ID                 add a client
//	register ID               register it, running until the reply
//	submit ID INPUT           submit and run until the reply
//	send ID INPUT             submit without waiting
//	wait ID                   run until the client has no request in flight
//	partition I...            cut replicas off; heal [I...] reconnects (all if none)
//	drop COMMAND [from=I] [to=I] [op=N] [client=ID]  drop matching packets; undrop clears
//	hold-io I / release-io I  hold back or release storage completions
//	tick N / deliver          advance time / deliver queued packets
//	until rI key=value... [limit=N]  tick until the replica matches
//	expect rI key=value...    status, view, log_view, op, commit_min, commit_max, primary
//	expect-applied rI INPUT...  the inputs replica I executed, in order
//	expect-sent COMMAND from=I count=N|min=N  packets sent so far
//	check                     agreement across replicas, no violations
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios found: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			runScenario(t, file)
		})
	}
}

type scenario struct {
	t       *testing.T
	net     *testNet
	clients map[string]*Client
	drops   []func(p *packet) bool
	line    string
}

func runScenario(t *testing.T, path string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := &scenario{t: t, clients: map[string]*Client{}}
	scanner := bufio.NewScanner(f)
	for n := 1; scanner.Scan(); n++ {
		line := strings.TrimSpace(scanner.Text())
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		s.line = fmt.Sprintf("%s:%d: %s", filepath.Base(path), n, line)
		s.exec(strings.Fields(line))
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
}

func (s *scenario) fail(format string, args ...any) {
	s.t.Helper()
	msg := fmt.Sprintf(format, args...)
	if s.net != nil {
		msg += "\n" + s.net.describe()
	}
	s.t.Fatalf("%s\n%s", s.line, msg)
}

// kv parses key=value arguments.
func (s *scenario) kv(args []string) map[string]string {
	m := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			s.fail("argument %q is not key=value", a)
		}
		m[k] = v
	}
	return m
}

func (s *scenario) num(v string) int {
	n, err := strconv.Atoi(v)
	if err != nil {
		s.fail("%q is not a number", v)
	}
	return n
}

func (s *scenario) replica(arg string) int {
	i := s.num(strings.TrimPrefix(arg, "r"))
	if i < 0 || i >= len(s.net.replicas) {
		s.fail("no replica %s", arg)
	}
	return i
}

func (s *scenario) client(id string) *Client {
	c, ok := s.clients[id]
	if !ok {
		s.fail("no client %s", id)
	}
	return c
}

func (s *scenario) exec(f []string) {
	if s.net == nil && f[0] != "cluster" {
		s.fail("the first command must be cluster")
	}
	switch cmd, args := f[0], f[1:]; cmd {
	case "cluster":
		s.cluster(args)
	case "client":
		s.clients[args[0]] = s.net.addClient(uint64(s.num(args[0])))
	case "register":
		s.net.register(s.client(args[0]))
	case "submit":
		if got := s.net.submit(s.client(args[0]), args[1]); !strings.HasSuffix(got, ":"+args[1]) {
			s.fail("reply %q", got)
		}
	case "send":
		if _, err := s.client(args[0]).Submit(OperationUserMin, []byte(args[1])); err != nil {
			s.fail("%v", err)
		}
	case "wait":
		c := s.client(args[0])
		s.net.run(5000, "client idle", func() bool { return !c.Busy() })
	case "partition", "heal":
		s.partition(cmd == "partition", args)
	case "drop":
		s.drop(args)
	case "undrop":
		s.drops = nil
	case "hold-io", "release-io":
		s.net.storages[s.replica(args[0])].hold = cmd == "hold-io"
	case "tick":
		s.net.tick(s.num(args[0]))
	case "deliver":
		s.net.deliver()
	case "until":
		s.until(args)
	case "expect":
		if diff := s.mismatch(s.replica(args[0]), s.kv(args[1:])); diff != "" {
			s.fail("%s", diff)
		}
	case "expect-applied":
		s.expectApplied(s.replica(args[0]), args[1:])
	case "expect-sent":
		s.expectSent(args)
	case "check":
		s.net.checkAgreement()
	default:
		s.fail("unknown command %q", cmd)
	}
}

func (s *scenario) cluster(args []string) {
	n := s.num(args[0])
	opts := s.kv(args[1:])
	s.net = newTestNet(s.t, n, func(o *Options) {
		for k, v := range opts {
			switch k {
			case "pipeline":
				o.PipelineMax = s.num(v)
			case "abdicate":
				o.PrimaryAbdicateTicks = s.num(v)
			case "clients_max":
				o.ClientsMax = s.num(v)
			case "queue":
				o.RequestQueueMax = s.num(v)
			default:
				s.fail("unknown cluster option %q", k)
			}
		}
	})
	s.net.drop = func(p *packet) bool {
		return slices.ContainsFunc(s.drops, func(d func(*packet) bool) bool { return d(p) })
	}
}

func (s *scenario) partition(cut bool, args []string) {
	if len(args) == 0 && !cut {
		s.net.partitioned = [ReplicasMax]bool{}
		return
	}
	for _, a := range args {
		s.net.partitioned[s.replica(a)] = cut
	}
}

func (s *scenario) drop(args []string) {
	var command Command
	for c := CommandRequest; c < commandCount; c++ {
		if c.String() == args[0] {
			command = c
		}
	}
	if command == CommandReserved {
		s.fail("unknown command %q", args[0])
	}
	from, to, op, client := -1, -1, -1, -1
	for k, v := range s.kv(args[1:]) {
		switch k {
		case "from":
			from = s.replica(v)
		case "to":
			to = s.replica(v)
		case "op":
			op = s.num(v)
		case "client":
			client = s.num(v)
		default:
			s.fail("unknown drop filter %q", k)
		}
	}
	s.drops = append(s.drops, func(p *packet) bool {
		return p.header.Command == command && (from < 0 || p.from.replica == from) &&
			(to < 0 || p.to.replica == to) && (op < 0 || p.header.Op == uint64(op)) &&
			(client < 0 || p.header.Client == U128{Lo: uint64(client)})
	})
}

// mismatch returns how replica i differs from want, or "".
func (s *scenario) mismatch(i int, want map[string]string) string {
	r := s.net.replicas[i]
	have := map[string]string{
		"status": r.status.String(), "view": fmt.Sprint(r.view), "log_view": fmt.Sprint(r.logView),
		"op": fmt.Sprint(r.op), "commit_min": fmt.Sprint(r.commitMin), "commit_max": fmt.Sprint(r.commitMax),
		"primary": fmt.Sprint(r.IsPrimary()),
	}
	var diffs []string
	for k, v := range want {
		if k == "limit" {
			continue
		}
		got, ok := have[k]
		if !ok {
			s.fail("unknown replica field %q", k)
		}
		if got != v {
			diffs = append(diffs, fmt.Sprintf("r%d %s=%s, want %s", i, k, got, v))
		}
	}
	slices.Sort(diffs)
	return strings.Join(diffs, "; ")
}

func (s *scenario) until(args []string) {
	i, want := s.replica(args[0]), s.kv(args[1:])
	limit := 2000
	if v, ok := want["limit"]; ok {
		limit = s.num(v)
	}
	for range limit {
		if s.mismatch(i, want) == "" {
			return
		}
		s.net.tick(1)
	}
	if diff := s.mismatch(i, want); diff != "" {
		s.fail("not reached in %d ticks: %s", limit, diff)
	}
}

func (s *scenario) expectApplied(i int, want []string) {
	var got []string
	for _, a := range s.net.applied(i) {
		_, input, _ := strings.Cut(a, ":")
		got = append(got, input)
	}
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		s.fail("r%d applied %v, want %v (as op:input %v)", i, got, want, s.net.applied(i))
	}
}

func (s *scenario) expectSent(args []string) {
	var command Command
	for c := CommandRequest; c < commandCount; c++ {
		if c.String() == args[0] {
			command = c
		}
	}
	opts := s.kv(args[1:])
	from := -1
	if v, ok := opts["from"]; ok {
		from = s.replica(v)
	}
	got := s.net.sentCount(command, from)
	if v, ok := opts["count"]; ok && got != s.num(v) {
		s.fail("%d %s sent, want %s", got, command, v)
	}
	if v, ok := opts["min"]; ok && got < s.num(v) {
		s.fail("%d %s sent, want at least %s", got, command, v)
	}
}
