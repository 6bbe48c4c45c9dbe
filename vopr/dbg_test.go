package vopr

import (
	"fmt"
	"os"
	"testing"
)

func TestDbgFuzz(t *testing.T) {
	o := Draw(1095220275585, Force{})
	o.RequestsMax, o.TicksMax = 150, 3_000
	fmt.Println(o.Replicas, o.Clients, o.ClientsMax, o.Enabled())
	s, _ := New(o, os.Stdout, logShort)
	res := s.Run()
	fmt.Println(res.Class)
	c := s.clients[6].client
	fmt.Printf("client6 id=%s stats=%+v\n", c.ID(), c.Stats())
	for i, r := range s.replicas {
		fmt.Println(i, r.replica.Sessions(), r.replica.Stats())
	}
}
