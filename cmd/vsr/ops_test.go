package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/govsr/govsr/vsr"
)

// TestMain lets a test run this command's main in a subprocess (the test
// binary itself), to send it signals.
func TestMain(m *testing.M) {
	if os.Getenv("GOVSR_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func TestClientsMaxMismatchRefused(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "0.vsr")
	base := []string{"--cluster", "3", "--replica", "0", "--addresses", freeAddresses(t, 1), "--data", data, "--journal-slots", "64"}
	var out, errOut bytes.Buffer
	if code := run(append([]string{"format", "--clients-max", "64"}, base...), &out, &errOut, nil); code != exitOK {
		t.Fatalf("format: exit %d: %s", code, errOut.String())
	}
	errOut.Reset()
	code := run(append([]string{"start"}, base...), &out, &errOut, nil)
	if code != exitUsage || !strings.Contains(errOut.String(), "--clients-max 64 (not 32)") {
		t.Fatalf("start with the default --clients-max on a file formatted with 64: exit %d: %s", code, errOut.String())
	}
	errOut.Reset()
	code = run(append([]string{"start", "--clients-max", "64", "--keys-max", "100"}, base...), &out, &errOut, nil)
	if code != exitUsage || !strings.Contains(errOut.String(), "--keys-max") {
		t.Fatalf("start with another --keys-max: exit %d: %s", code, errOut.String())
	}
}

// A data file written by a build with another layout (here: one from before
// layouts were numbered, which records 0) is refused by name, not by a
// setting it happens to differ in.
func TestOlderDataFileLayoutRefused(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "0.vsr")
	base := []string{"--cluster", "3", "--replica", "0", "--addresses", freeAddresses(t, 1), "--data", data, "--journal-slots", "64"}
	var out, errOut bytes.Buffer
	if code := run(append([]string{"format"}, base...), &out, &errOut, nil); code != exitOK {
		t.Fatalf("format: exit %d: %s", code, errOut.String())
	}
	rewriteLayout(t, data, 0)
	code := run(append([]string{"start"}, base...), &out, &errOut, nil)
	if code != exitUsage || !strings.Contains(errOut.String(), "layout 0") ||
		!strings.Contains(errOut.String(), fmt.Sprintf("reads layout %d", vsr.DataFileLayout)) {
		t.Fatalf("start on a layout-0 file: exit %d: %s", code, errOut.String())
	}
}

// rewriteLayout sets the layout byte of every superblock copy of the data
// file at path and seals each copy's checksum again.
func rewriteLayout(t *testing.T, path string, layout byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sector := make([]byte, vsr.SectorSize)
	for copyIndex := range vsr.SuperblockCopies {
		offset := int64(copyIndex * vsr.SectorSize)
		if _, err := f.ReadAt(sector, offset); err != nil {
			t.Fatal(err)
		}
		if found, err := vsr.DecodeDataFileFormat(sector); err != nil || found.Layout != vsr.DataFileLayout {
			t.Fatalf("copy %d before the rewrite: layout %d, %v", copyIndex, found.Layout, err)
		}
		sector[42] = layout
		sum := vsr.Checksum(sector[16:])
		binary.LittleEndian.PutUint64(sector[0:], sum.Lo)
		binary.LittleEndian.PutUint64(sector[8:], sum.Hi)
		if _, err := f.WriteAt(sector, offset); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBenchmarkRefusesMoreClientsThanTheClusterHolds(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"benchmark", "--cluster", "3", "--addresses", "127.0.0.1:1", "--clients", "64"}, &out, &errOut, nil)
	if code != exitUsage || !strings.Contains(errOut.String(), "--clients-max") {
		t.Fatalf("benchmark --clients 64 on a 32-session cluster: exit %d: %s", code, errOut.String())
	}
}

// Each subcommand's help shows its own flags and an example, not the
// others'.
func TestHelpShowsOnlyOwnFlags(t *testing.T) {
	cases := []struct {
		command     string
		want, avoid []string
	}{
		{"format", []string{"-rejoin", "-clients-max", "-data", "example:"}, []string{"-requests", "-timeout"}},
		{"start", []string{"-clients-max", "-data", "-metrics", "-pprof", "example:"}, []string{"-rejoin", "-requests"}},
		{"benchmark", []string{"-clients ", "-requests", "example:"}, []string{"-data", "-rejoin", "-keys-max", "-journal-slots"}},
		{"kv", []string{"-timeout", "read K", "example:"}, []string{"-data", "-clients ", "-keys-max"}},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		if code := run([]string{c.command, "-h"}, &out, &errOut, nil); code != exitUsage {
			t.Errorf("%s -h: exit %d", c.command, code)
		}
		help := errOut.String()
		for _, w := range c.want {
			if !strings.Contains(help, w) {
				t.Errorf("%s -h lacks %q:\n%s", c.command, w, help)
			}
		}
		for _, a := range c.avoid {
			if strings.Contains(help, a) {
				t.Errorf("%s -h shows %q, which is not its flag:\n%s", c.command, a, help)
			}
		}
	}
}

// vsr start stops cleanly, exit 0 with a last status line, on SIGTERM and
// on SIGINT.
func TestStartStopsOnSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		dir := t.TempDir()
		args := []string{"--cluster", "3", "--replica", "0", "--addresses", freeAddresses(t, 1),
			"--data", filepath.Join(dir, "0.vsr"), "--journal-slots", "64", "--keys-max", "64"}
		if code := run(append([]string{"format"}, args...), &bytes.Buffer{}, &bytes.Buffer{}, nil); code != exitOK {
			t.Fatalf("format: exit %d", code)
		}
		cmd := exec.Command(os.Args[0], append([]string{"start"}, args...)...)
		cmd.Env = append(os.Environ(), "GOVSR_TEST_MAIN=1")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		if !lines.Scan() || !strings.Contains(lines.Text(), "listening") {
			cmd.Process.Kill()
			t.Fatalf("start printed %q, want its listening line", lines.Text())
		}
		time.Sleep(300 * time.Millisecond) // one replica: it is primary by now
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		var last string
		for lines.Scan() {
			last = lines.Text()
		}
		if err := cmd.Wait(); err != nil || !strings.Contains(last, "stopping: normal") {
			t.Fatalf("after %s: %v, last line %q", sig, err, last)
		}
	}
}

// Off a terminal, progress is a plain line at most every plainEvery.
func TestBenchProgressPlainLines(t *testing.T) {
	var out bytes.Buffer
	p := newBenchProgress(&out, 1000)
	p.update(10)
	if out.Len() != 0 {
		t.Fatalf("a line before plainEvery passed: %q", out.String())
	}
	p.lastLine = p.lastLine.Add(-plainEvery)
	p.update(500)
	p.update(501)
	if got := out.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "500 of 1000 requests replied") {
		t.Fatalf("progress lines %q, want one saying 500 of 1000", got)
	}
}
