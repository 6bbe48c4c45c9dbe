package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/govsr/govsr/client"
	"github.com/govsr/govsr/vsr/server/servertest"
)

// A freshly formatted cluster elects its first primary at once rather
// than after the recovery timeout (3 s): nothing is there to recover.
func TestFreshClusterServesAtOnce(t *testing.T) {
	started := time.Now()
	cluster := servertest.StartSmall(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, cluster.Config.Cluster, cluster.Config.Addresses,
		client.Options{MessageSizeMax: cluster.Config.MessageSizeMax})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Write(ctx, []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(started); elapsed > 1500*time.Millisecond {
		t.Fatalf("the first write of a fresh cluster completed after %s, want under 1.5 s", elapsed)
	} else {
		t.Logf("first write of a fresh cluster after %s", elapsed)
	}
}
