package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/govsr/govsr/client"
	"github.com/govsr/govsr/server/servertest"
)

func Example() {
	// A three-replica cluster inside this process, for the example; an
	// application dials the addresses of its cluster's `vsr start`s.
	dir, err := os.MkdirTemp("", "govsr-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	addresses, err := servertest.FreeAddresses(3)
	if err != nil {
		log.Fatal(err)
	}
	cluster, err := servertest.New(servertest.Small(7, addresses), dir)
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, 7, addresses, client.Options{MessageSizeMax: 16 << 10})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	if err := c.Write(ctx, []byte("color"), []byte("red")); err != nil {
		log.Fatal(err)
	}
	value, err := c.Read(ctx, []byte("color"))
	fmt.Printf("read: %s %v\n", value, err)

	swapped, current, err := c.CompareAndSet(ctx, []byte("color"), []byte("blue"), []byte("green"))
	fmt.Printf("cas blue→green: swapped=%v current=%s %v\n", swapped, current, err)
	swapped, _, err = c.CompareAndSet(ctx, []byte("color"), []byte("red"), []byte("green"))
	fmt.Printf("cas red→green: swapped=%v %v\n", swapped, err)

	_, err = c.Read(ctx, []byte("size"))
	fmt.Println("read a missing key:", errors.Is(err, client.ErrNotFound))
	// Output:
	// read: red <nil>
	// cas blue→green: swapped=false current=red <nil>
	// cas red→green: swapped=true <nil>
	// read a missing key: true
}
