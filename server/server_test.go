package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/govsr/govsr/client"
	"github.com/govsr/govsr/server"
	"github.com/govsr/govsr/server/servertest"
)

// dial connects a client to the cluster for the rest of the test, and
// returns it with a context that bounds the test.
func dial(t *testing.T, cluster *servertest.Cluster) (*client.Client, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	c, err := client.Dial(ctx, cluster.Config.Cluster, cluster.Config.Addresses,
		client.Options{MessageSizeMax: cluster.Config.MessageSizeMax})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, ctx
}

// A freshly formatted cluster elects its first primary at once rather
// than after the recovery timeout (3 s): nothing is there to recover.
// Every replica reports normal (its metrics, polled) within 1.5 s.
func TestFreshClusterElectsAtOnce(t *testing.T) {
	started := time.Now()
	cluster := servertest.StartSmall(t, 3, func(c *server.Config) { c.MetricsAddress = "127.0.0.1:0" })
	for i := range 3 {
		name := fmt.Sprintf(`govsr_replica_status{replica="%d",status="normal"}`, i)
		for metricValue(get(t, "http://"+cluster.Server(i).MetricsAddress()+"/metrics"), name) != 1 {
			if time.Since(started) > 10*time.Second {
				t.Fatalf("replica %d not normal after 10 s", i)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	elapsed := time.Since(started)
	t.Logf("every replica of a fresh cluster normal after %s", elapsed)
	if elapsed > 1500*time.Millisecond {
		t.Fatalf("a fresh cluster took %s to elect its first primary, want under 1.5 s (the recovery timeout is 3 s)", elapsed)
	}
	c, ctx := dial(t, cluster)
	if err := c.Write(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
}

// get fetches a URL's body.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	return string(body)
}

// metricValue returns the value of the sample named exactly name (with its
// labels) in a Prometheus text exposition, or -1.
func metricValue(exposition, name string) float64 {
	for _, line := range strings.Split(exposition, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// --metrics serves the replica's view, status, op, commit, counters and
// the journal and fsync latency histograms; --pprof serves profiles.
func TestMetricsAndProfiles(t *testing.T) {
	cluster := servertest.StartSmall(t, 3, func(c *server.Config) {
		c.MetricsAddress, c.PprofAddress = "127.0.0.1:0", "127.0.0.1:0"
	})
	c, ctx := dial(t, cluster)
	const writes = 20
	for i := range writes {
		if err := c.Write(ctx, []byte("k"), []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	primary, primaryLabel := "", ""
	for i := range 3 {
		m := get(t, "http://"+cluster.Server(i).MetricsAddress()+"/metrics")
		label := fmt.Sprintf(`{replica="%d"}`, i)
		if metricValue(m, "govsr_replica_primary"+label) == 1 {
			// The loop updates its metrics after the poll that sent the
			// last reply: the client may read them a moment before.
			for deadline := time.Now().Add(2 * time.Second); metricValue(m, "govsr_requests_total"+label) < writes && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
				m = get(t, "http://"+cluster.Server(i).MetricsAddress()+"/metrics")
			}
			primary, primaryLabel = m, label
		}
		for _, name := range []string{"govsr_replica_view", "govsr_replica_op", "govsr_replica_commit", "govsr_view_changes_total",
			"govsr_repair_requests_total", "govsr_journal_write_seconds_count", "govsr_fsync_seconds_count"} {
			if metricValue(m, name+label) < 0 {
				t.Errorf("replica %d's metrics lack %s:\n%s", i, name, m)
			}
		}
		if metricValue(m, fmt.Sprintf(`govsr_replica_status{replica="%d",status="normal"}`, i)) != 1 {
			t.Errorf("replica %d is not reported normal:\n%s", i, m)
		}
	}
	if primary == "" {
		t.Fatal("no replica reports itself primary")
	}
	for _, name := range []string{"govsr_requests_total", "govsr_prepares_total"} {
		if v := metricValue(primary, name+primaryLabel); v < writes {
			t.Errorf("the primary's %s is %v, want at least %d", name, v, writes)
		}
	}
	if index := get(t, "http://"+cluster.Server(0).PprofAddress()+"/debug/pprof/"); !strings.Contains(index, "goroutine") {
		t.Errorf("pprof index without goroutine profile:\n%s", index)
	}
}
