package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/govsr/govsr/client"
	"github.com/govsr/govsr/internal/kvmodel"
	"github.com/govsr/govsr/vsr/kv"
)

// Tests of the checkers themselves, on made-up histories: each must be
// able to fail.

func at(client int, call, ret int, c kvmodel.Call) *operation {
	return &operation{Call: c, client: client, call: time.Duration(call) * time.Millisecond, ret: time.Duration(ret) * time.Millisecond}
}

func TestCheckLinearizable(t *testing.T) {
	write := func(v string) kvmodel.Call {
		return kvmodel.Call{Kind: kvmodel.Write, Key: "k", Value: v, Status: kv.StatusOK}
	}
	read := func(v string) kvmodel.Call {
		if v == "" {
			return kvmodel.Call{Kind: kvmodel.Read, Key: "k", Status: kv.StatusNotFound}
		}
		return kvmodel.Call{Kind: kvmodel.Read, Key: "k", Status: kv.StatusOK, Output: v}
	}
	cas := func(from, to string, status kv.Status, output string) kvmodel.Call {
		return kvmodel.Call{Kind: kvmodel.CAS, Key: "k", From: from, Value: to, Status: status, Output: output}
	}
	unknown := func(o kvmodel.Call) kvmodel.Call { o.Unknown, o.Status = true, 0; return o }
	cases := []struct {
		name    string
		history []*operation
		ok      bool
	}{
		{"sequential", []*operation{at(0, 0, 1, read("")), at(0, 2, 3, write("a")), at(1, 4, 5, read("a")),
			at(1, 6, 7, cas("a", "b", kv.StatusOK, "")), at(0, 8, 9, cas("a", "c", kv.StatusMismatch, "b"))}, true},
		{"stale read", []*operation{at(0, 0, 1, write("a")), at(0, 2, 3, write("b")), at(1, 4, 5, read("a"))}, false},
		{"concurrent reads either way", []*operation{at(0, 0, 10, write("a")), at(1, 1, 2, read("a")), at(2, 3, 4, read(""))}, false},
		{"overlapping write", []*operation{at(0, 0, 10, write("a")), at(1, 1, 2, read("")), at(2, 3, 4, read("a"))}, true},
		{"lost write", []*operation{at(0, 0, 1, write("a")), at(1, 2, 3, read(""))}, false},
		{"unknown write may land", []*operation{at(0, 0, 1, unknown(write("a"))), at(1, 2, 3, read("a"))}, true},
		{"unknown write may not", []*operation{at(0, 0, 1, unknown(write("a"))), at(1, 2, 3, read(""))}, true},
		{"cas swapped twice", []*operation{at(0, 0, 1, write("a")), at(1, 2, 3, cas("a", "b", kv.StatusOK, "")),
			at(2, 4, 5, cas("a", "c", kv.StatusOK, ""))}, false},
		{"mismatch shows a value never written", []*operation{at(0, 0, 1, write("a")),
			at(1, 2, 3, cas("x", "b", kv.StatusMismatch, "z"))}, false},
	}
	for _, c := range cases {
		html := filepath.Join(t.TempDir(), "lin.html")
		err := checkLinearizable(c.history, html)
		if (err == nil) != c.ok {
			t.Errorf("%s: linearizable %t, want %t (%v)", c.name, err == nil, c.ok, err)
		}
		if _, statErr := os.Stat(html); (statErr == nil) == c.ok {
			t.Errorf("%s: picture written %t, want %t", c.name, statErr == nil, !c.ok)
		}
	}
}

func TestCheckUniqueWrites(t *testing.T) {
	w := at(0, 0, 1, kvmodel.Call{Kind: kvmodel.Write, Key: "r0-u0-1", Value: "v", Status: kv.StatusOK})
	good := at(1, 5, 6, kvmodel.Call{Kind: kvmodel.Read, Key: "r0-u0-1", Status: kv.StatusOK, Output: "v"})
	gone := at(1, 5, 6, kvmodel.Call{Kind: kvmodel.Read, Key: "r0-u0-1", Status: kv.StatusNotFound})
	early := at(1, 0, 6, kvmodel.Call{Kind: kvmodel.Read, Key: "r0-u0-1", Status: kv.StatusNotFound}) // began before the ack
	if err := checkUniqueWrites([]*operation{w, good, early}); err != nil {
		t.Errorf("a write read back: %v", err)
	}
	if err := checkUniqueWrites([]*operation{w, gone}); err == nil || !strings.Contains(err.Error(), "not read back") {
		t.Errorf("a lost write: %v", err)
	}
}

func TestParseStatus(t *testing.T) {
	s, ok := parseStatus("normal view=3 op=40 commit=39 digest=00ff")
	if !ok || s.status != "normal" || s.view != 3 || s.op != 40 || s.commit != 39 || s.digest != "00ff" {
		t.Errorf("parsed %+v, %t", s, ok)
	}
	if _, ok := parseStatus("normal view=3 op=40"); ok {
		t.Error("a short line parsed")
	}
}

// Each outcome of the library lands in the history as Jepsen records it
// (ok, fail, info), and checkErrors refuses a round with a call that
// failed definitely other than by its own timeout, or a read after the
// heal without its reply.
func TestOutcomes(t *testing.T) {
	indefinite := func(err error) error { return fmt.Errorf("client: write: %w (%w)", err, client.ErrIndefinite) }
	cases := []struct {
		kind                      kvmodel.Kind
		value                     string
		swapped                   bool
		err                       error
		want                      kvmodel.Call
		failed, timedOut, refused bool
	}{
		{kind: kvmodel.Read, value: "a", want: kvmodel.Call{Status: kv.StatusOK, Output: "a"}},
		{kind: kvmodel.Read, err: fmt.Errorf("client: read: %w", client.ErrNotFound),
			want: kvmodel.Call{Status: kv.StatusNotFound}},
		{kind: kvmodel.CAS, value: "b", want: kvmodel.Call{Status: kv.StatusMismatch, Output: "b"}},
		{kind: kvmodel.CAS, swapped: true, want: kvmodel.Call{Status: kv.StatusOK}},
		{kind: kvmodel.CAS, err: client.ErrNotFound, want: kvmodel.Call{Status: kv.StatusNotFound}},
		{kind: kvmodel.Write, err: fmt.Errorf("client: write: %w", client.ErrFull), want: kvmodel.Call{Status: kv.StatusFull}},
		{kind: kvmodel.Write, err: indefinite(client.ErrEvicted), want: kvmodel.Call{Unknown: true}},
		{kind: kvmodel.Write, err: indefinite(context.DeadlineExceeded), want: kvmodel.Call{Unknown: true},
			timedOut: true},
		{kind: kvmodel.Write, err: fmt.Errorf("client: write: %w", context.DeadlineExceeded), failed: true,
			timedOut: true},
		{kind: kvmodel.CAS, err: fmt.Errorf("client: cas: %w", client.ErrInvalid), failed: true, refused: true},
	}
	for i, c := range cases {
		o := &operation{Call: kvmodel.Call{Kind: c.kind}}
		o.apply(outcome(c.kind, []byte(c.value), c.swapped, c.err))
		got := o.Call
		got.Kind = 0
		if got != c.want || o.failed != c.failed || o.timedOut != c.timedOut {
			t.Errorf("case %d: %+v failed %t timed out %t; want %+v failed %t timed out %t", i, got, o.failed, o.timedOut,
				c.want, c.failed, c.timedOut)
		}
		if err := checkErrors([]*operation{o}); (err != nil) != c.refused {
			t.Errorf("case %d: checkErrors %v, want refused %t", i, err, c.refused)
		}
		// A read after the heal must have its reply: any error refuses it.
		o.final = true
		if err := checkErrors([]*operation{o}); (err != nil) != (c.failed || c.want.Unknown) {
			t.Errorf("case %d after the heal: checkErrors %v", i, err)
		}
	}
	// A failed call is left out of the check: a write that did not happen
	// does not explain a read of its value.
	w := at(0, 0, 1, kvmodel.Call{Kind: kvmodel.Write, Key: "k", Value: "a"})
	w.apply(reply{err: errors.New("refused")})
	r := at(1, 2, 3, kvmodel.Call{Kind: kvmodel.Read, Key: "k", Status: kv.StatusOK, Output: "a"})
	if err := checkLinearizable([]*operation{w, r}, filepath.Join(t.TempDir(), "lin.html")); err == nil {
		t.Error("a read of a value only a failed write wrote is linearizable")
	}
}
