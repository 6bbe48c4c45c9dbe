package chaos

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/govsr/govsr/faults"
)

var (
	durationFlag = flag.Duration("chaos.duration", 0,
		"chaos time in all, split between the 3- and 5-replica clusters (0: about 12s each, for make test)")
	roundFlag       = flag.Duration("chaos.round", time.Minute, "chaos time of one round; each round ends healed and checked")
	convergeFlag    = flag.Duration("chaos.converge", 30*time.Second, "how long after the heal every call must have a reply and the replicas agree")
	seedFlag        = flag.Uint64("chaos.seed", 0, "the seed of the fault schedule and the clients (0: a fresh one, printed)")
	dirFlag         = flag.String("chaos.dir", "", "where to make the run's directory (default: the system's temporary directory)")
	keepFlag        = flag.Bool("chaos.keep", false, "keep the run's directory even when the test passes")
	nemesisFlag     = flag.Bool("chaos.nemesis", true, "run the nemesis and the bus faults (false: the workload and checks alone, a baseline)")
	clientsFlag     = flag.Int("chaos.clients", 6, "concurrent clients, one call in flight each")
	callTimeoutFlag = flag.Duration("chaos.call-timeout", 2*time.Second,
		"the most a call waits during chaos (each draws its own, from a quarter of this); one it ends is indefinite, or failed if never sent")
)

// shortChaos is each cluster's chaos time when no duration is given.
const shortChaos = 12 * time.Second

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos test runs real processes for about a minute; not in -short")
	}
	if *callTimeoutFlag < 4*time.Millisecond || *clientsFlag < 1 || *clientsFlag > 16 {
		t.Fatalf("-chaos.call-timeout %s and -chaos.clients %d: want at least 4ms and 1 to 16 clients (two sessions each, of the cluster's 32)",
			*callTimeoutFlag, *clientsFlag)
	}
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (go test ./chaos -chaos.seed %d reruns this schedule)", seed, seed)
	bin := buildVSR(t)
	perCluster := shortChaos
	if *durationFlag > 0 {
		perCluster = *durationFlag / 2
	}
	root := faults.New(seed)
	for _, n := range []int{3, 5} {
		t.Run(fmt.Sprintf("replicas=%d", n), func(t *testing.T) {
			runCluster(t, bin, n, root.Stream(fmt.Sprintf("replicas-%d", n)), perCluster)
		})
		if t.Failed() {
			return
		}
	}
}

// buildVSR builds cmd/vsr into a temporary directory.
func buildVSR(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vsr")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/govsr/govsr/cmd/vsr").CombinedOutput()
	if err != nil {
		t.Fatalf("go build cmd/vsr: %v\n%s", err, out)
	}
	return bin
}

// freeAddresses returns n loopback addresses whose ports were free a
// moment ago.
func freeAddresses(t *testing.T, n int) []string {
	t.Helper()
	var addresses []string
	for range n {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addresses = append(addresses, l.Addr().String())
		defer l.Close()
	}
	return addresses
}

// run is one cluster's test: its processes, clients and schedule.
type run struct {
	t       *testing.T
	dir     string
	began   time.Time
	c       *cluster
	clients *clients
	random  *faults.PRNG
	rates   rates
}

func runCluster(t *testing.T, bin string, n int, random *faults.PRNG, chaosFor time.Duration) {
	if *dirFlag != "" {
		if err := os.MkdirAll(*dirFlag, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := os.MkdirTemp(*dirFlag, fmt.Sprintf("govsr-chaos-%d-*", n))
	if err != nil {
		t.Fatal(err)
	}
	r := &run{t: t, dir: dir, began: time.Now(), random: random, rates: drawRates(random.Stream("rates"))}
	defer func() {
		if t.Failed() || *keepFlag {
			t.Logf("seed %d: logs, schedule, histories and pictures kept in %s", random.Seed(), dir)
			return
		}
		os.RemoveAll(dir)
	}()
	addresses := freeAddresses(t, n)
	id := random.Stream("cluster").Uint64() | 1
	if r.c, err = newCluster(bin, dir, id, addresses, r.began); err != nil {
		t.Fatalf("seed %d: %v", random.Seed(), err)
	}
	defer r.c.close()
	t.Logf("%d replicas on %s; bus faults %s", n, strings.Join(addresses, ","), r.rates.spec(0, true))
	if err := r.setUp(id, addresses); err != nil {
		t.Fatalf("seed %d: %v", random.Seed(), err)
	}
	for round, spent := 0, time.Duration(0); spent < chaosFor; round++ {
		length := min(*roundFlag, chaosFor-spent)
		spent += length
		if err := r.round(round, length); err != nil {
			r.fail("round %d: %v", round, err)
			return
		}
	}
	if err := r.stopAll(); err != nil {
		r.fail("%v", err)
	}
}

func (r *run) fail(format string, args ...any) {
	r.t.Errorf("seed %d: %s (logs kept in %s)", r.random.Seed(), fmt.Sprintf(format, args...), r.dir)
}

// setUp starts every replica (faults disarmed) and the clients.
func (r *run) setUp(cluster uint64, addresses []string) error {
	launcher := r.random.Stream("setup")
	for _, p := range r.c.replicas {
		if err := r.c.launch(p, r.rates.spec(launcher.Uint64(), false).String()); err != nil {
			return err
		}
	}
	dialing, stopDialing := context.WithTimeout(context.Background(), *convergeFlag)
	defer stopDialing()
	var err error
	r.clients, err = dialClients(dialing, cluster, addresses, *clientsFlag, newSendFaults(r.rates, r.random.Stream("clients")))
	if err != nil {
		return err
	}
	r.t.Cleanup(r.clients.close)
	// Faults start once the cluster has elected its first primary: a
	// replica restarted before that only waits, recovering, for one to
	// exist, so chaos from the first second mostly measures the wait.
	warm, stop := context.WithTimeout(context.Background(), *convergeFlag)
	defer stop()
	return r.awaitAgreement(warm, 0)
}

// stopAll closes the client, whose sessions may still be retrying calls
// that timed out, waits until the replicas agree on the last of them, then
// stops every replica with SIGTERM and checks that they stopped at the
// same commit with the same state.
func (r *run) stopAll() error {
	r.clients.close()
	quiet, stop := context.WithTimeout(context.Background(), *convergeFlag)
	defer stop()
	if err := r.awaitAgreement(quiet, 0); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(r.c.replicas))
	for i, p := range r.c.replicas {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = r.c.signal(p, syscall.SIGTERM) }()
	}
	wg.Wait()
	var lines []string
	for i, p := range r.c.replicas {
		if errs[i] != nil {
			return errs[i]
		}
		p.mu.Lock()
		lines = append(lines, p.stopping)
		p.mu.Unlock()
	}
	if problems := r.c.problems(); len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	first, ok := parseStatus(lines[0])
	for i, line := range lines {
		s, parsed := parseStatus(line)
		if !ok || !parsed || s.commit != first.commit || s.digest != first.digest {
			return fmt.Errorf("replicas stopped in different states: replica %d %q, replica 0 %q", i, line, lines[0])
		}
	}
	return nil
}
