package chaos

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// statusInterval is how often each replica prints its status line.
const statusInterval = 100 * time.Millisecond

// limits are the options every replica is formatted and started with:
// a small journal, so that checkpoints, wrap-around and state transfer
// happen within seconds.
var limits = []string{"--keys-max", "16384", "--journal-slots", "64", "--message-size-max-kib", "16"}

const messageSizeMax = 16 << 10

type processState uint8

const (
	stateDown processState = iota
	stateRunning
	statePaused
)

// status is a replica's status line: "normal view=3 op=40 commit=40 digest=…".
type status struct {
	line string
	at   time.Time
}

// process is one replica: its data file, log, and the process running it.
type process struct {
	index int
	data  string
	log   *os.File

	mu         sync.Mutex
	state      processState
	cmd        *exec.Cmd
	expectExit bool
	exited     chan struct{} // closed when the current process has exited
	listening  chan struct{} // closed when it printed its listening line
	last       status        // latest status line
	stopping   string        // its stopping line, after SIGTERM
	unexpected []string      // exits nobody asked for
	starts     int
}

// cluster is the replica processes of one test.
type cluster struct {
	bin, dir  string
	id        string
	addresses string
	began     time.Time
	replicas  []*process
	events    *os.File // the schedule: what the nemesis and the heal did, when
	eventsMu  sync.Mutex
}

// note records an event in the schedule log.
func (c *cluster) note(format string, args ...any) {
	c.eventsMu.Lock()
	defer c.eventsMu.Unlock()
	fmt.Fprintf(c.events, "%10s %s\n", time.Since(c.began).Round(time.Millisecond), fmt.Sprintf(format, args...))
}

func (c *cluster) args(command string, p *process, more ...string) []string {
	args := append([]string{command, "--cluster", c.id, "--addresses", c.addresses, "--replica", fmt.Sprint(p.index),
		"--data", p.data}, limits...)
	return append(args, more...)
}

// format writes p's data file; rejoin formats a replacement for a lost one.
func (c *cluster) format(p *process, rejoin bool) error {
	if err := os.Remove(p.data); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	out, err := exec.Command(c.bin, c.args("format", p, fmt.Sprintf("--rejoin=%t", rejoin))...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("format replica %d: %v: %s", p.index, err, out)
	}
	return nil
}

// launch starts p's process with bus faults (spec, "" for none) and waits
// until it listens.
func (c *cluster) launch(p *process, spec string) error {
	more := []string{"--status-interval", statusInterval.String()}
	if spec != "" {
		more = append(more, "--bus-faults", spec)
	}
	cmd := exec.Command(c.bin, c.args("start", p, more...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // no replica outlives a killed test
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	p.mu.Lock()
	if p.state != stateDown {
		p.mu.Unlock()
		return fmt.Errorf("launch replica %d: it is not down", p.index)
	}
	p.starts++
	fmt.Fprintf(p.log, "%10s === start %d: %s\n", time.Since(c.began).Round(time.Millisecond), p.starts,
		strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return err
	}
	p.cmd, p.state, p.expectExit = cmd, stateRunning, false
	p.exited, p.listening = make(chan struct{}), make(chan struct{})
	exited, listening := p.exited, p.listening
	p.mu.Unlock()
	go c.watch(p, cmd, bufio.NewScanner(out), exited, listening)
	select {
	case <-listening:
		return nil
	case <-exited:
		return fmt.Errorf("replica %d exited at start (see %s)", p.index, p.log.Name())
	case <-time.After(10 * time.Second):
		return fmt.Errorf("replica %d did not listen within 10s", p.index)
	}
}

// watch copies the process's output to its log, keeps its status lines,
// and records its exit.
func (c *cluster) watch(p *process, cmd *exec.Cmd, lines *bufio.Scanner, exited, listening chan struct{}) {
	heard := false
	for lines.Scan() {
		line := lines.Text()
		now := time.Now()
		fmt.Fprintf(p.log, "%10s %s\n", now.Sub(c.began).Round(time.Millisecond), line)
		p.mu.Lock()
		switch {
		case !heard && strings.Contains(line, " listening on "):
			heard = true
			close(listening)
		case strings.HasPrefix(line, fmt.Sprintf("replica %d: ", p.index)):
			p.last = status{line: strings.TrimPrefix(line, fmt.Sprintf("replica %d: ", p.index)), at: now}
		case strings.HasPrefix(line, fmt.Sprintf("replica %d stopping: ", p.index)):
			p.stopping = strings.TrimPrefix(line, fmt.Sprintf("replica %d stopping: ", p.index))
		}
		p.mu.Unlock()
	}
	err := cmd.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.log, "%10s === exit: %v\n", time.Since(c.began).Round(time.Millisecond), err)
	// A panic or an error exits non-zero whatever we sent; only SIGKILL
	// or a clean stop (exit 0, after SIGTERM) are asked for.
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	asked := p.expectExit && (ws.Signaled() && ws.Signal() == syscall.SIGKILL || ws.Exited() && ws.ExitStatus() == 0)
	if !asked {
		p.unexpected = append(p.unexpected, fmt.Sprintf("replica %d exited on its own (%v); its log: %s", p.index, err, p.log.Name()))
	}
	p.state = stateDown
	close(exited)
}

// signal sends sig to p's process if it runs (paused counts) and, for
// SIGKILL and SIGTERM, waits for it to exit.
func (c *cluster) signal(p *process, sig syscall.Signal) error {
	p.mu.Lock()
	if p.state == stateDown {
		p.mu.Unlock()
		return nil
	}
	ends := sig == syscall.SIGKILL || sig == syscall.SIGTERM
	p.expectExit = p.expectExit || ends
	err := p.cmd.Process.Signal(sig)
	switch sig {
	case syscall.SIGSTOP:
		p.state = statePaused
	case syscall.SIGCONT:
		p.state = stateRunning
	}
	exited := p.exited
	p.mu.Unlock()
	if errors.Is(err, os.ErrProcessDone) {
		err = nil // it exited on its own a moment ago: watch records that
	}
	if err != nil || !ends {
		return err
	}
	select {
	case <-exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("replica %d did not exit within 10s of %s", p.index, sig)
	}
}

func (p *process) current() (processState, status) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state, p.last
}

// problems lists the exits nobody asked for.
func (c *cluster) problems() []string {
	var out []string
	for _, p := range c.replicas {
		p.mu.Lock()
		out = append(out, p.unexpected...)
		p.mu.Unlock()
	}
	return out
}

// newCluster formats n replicas in dir and starts them without faults.
func newCluster(bin, dir string, id uint64, addresses []string, began time.Time) (*cluster, error) {
	events, err := os.Create(filepath.Join(dir, "schedule.log"))
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin, dir: dir, id: fmt.Sprint(id), addresses: strings.Join(addresses, ","), began: began, events: events}
	for i := range addresses {
		log, err := os.Create(filepath.Join(dir, fmt.Sprintf("replica-%d.log", i)))
		if err != nil {
			return nil, err
		}
		p := &process{index: i, data: filepath.Join(dir, fmt.Sprintf("replica-%d.vsr", i)), log: log}
		c.replicas = append(c.replicas, p)
		if err := c.format(p, false); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// close kills whatever still runs and closes the logs.
func (c *cluster) close() {
	for _, p := range c.replicas {
		_ = c.signal(p, syscall.SIGKILL)
		p.log.Close()
	}
	c.events.Close()
}
