// Package storage is a replica's data file on a real disk: vsr.Storage
// over a file. Reads and writes are submitted by the replica's loop and run
// in order on one I/O goroutine, which makes writes durable by group commit:
// it takes every request submitted so far, writes them all, then issues one
// fdatasync covering every one of them. While that fdatasync runs the loop
// goes on (a primary pipelines its next prepares), and whatever it submits
// meanwhile forms the next group. Completions are handed to the replica
// from Drain, on the loop's goroutine, so the replica sees the same
// asynchronous interface it sees in the simulator; an eventfd (WakeFd)
// tells the loop that completions wait.
package storage

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govsr/govsr/vsr"
)

// File is a data file opened for a replica. Its methods are called from
// one goroutine (the replica's loop); the I/O goroutine it starts is its
// own.
type File struct {
	file   *os.File
	size   uint64
	wakeFd int // eventfd: readable while completions wait to be drained

	mu      sync.Mutex
	queue   []request    // submitted, not yet taken by the I/O goroutine, oldest first
	done    []completion // completed, not yet handed to the replica, oldest first
	free    [][]byte     // copy buffers of completed writes, for reuse
	large   [2][]byte    // the same, for writes larger than freeSizeMax
	closing bool
	ready   *sync.Cond // signals the I/O goroutine: queue gained a request, or closing
	stopped chan struct{}

	drained []completion // Drain's scratch, reused
	stats   Stats

	// OnSync, if set, is told how long each fdatasync took (metrics). It
	// runs on the I/O goroutine; set it before the first Write.
	OnSync func(time.Duration)
}

// Stats counts what the I/O goroutine did: Syncs below Writes is group
// commit at work.
type Stats struct {
	Reads, Writes, Syncs, Groups uint64
}

type request struct {
	write  bool
	offset uint64
	buf    []byte // a write: the file's own copy; a read: the replica's buffer
	tag    uint64
}

type completion struct {
	tag uint64
	err error
}

// groupMax bounds the requests one group takes, so that a flood of writes
// still sees an fdatasync (and completions) regularly.
const groupMax = 1024

// freeMax and freeSizeMax bound the write buffers kept for reuse: enough
// for the prepares and header sectors of a busy pipeline; a large write (a
// checkpoint) gets a buffer of its own, left to the collector.
const (
	freeMax     = 256
	freeSizeMax = 1 << 20
)

// Format creates the data file at path for opts: its full size, sparse,
// with the superblock copies of a fresh cluster (or, with rejoin, of a
// replica replacing a lost disk). It refuses to overwrite an existing file.
func Format(path string, opts vsr.Options, rejoin bool) error {
	sectors, err := vsr.FormatDataFile(opts)
	if rejoin {
		sectors, err = vsr.FormatDataFileForRejoin(opts)
	}
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("storage: format: %w", err)
	}
	defer f.Close()
	layout := vsr.NewLayout(opts)
	if err := f.Truncate(int64(layout.Size)); err != nil {
		return fmt.Errorf("storage: format %s: %w", path, err)
	}
	if err := allocateJournal(f, &layout); err != nil {
		return fmt.Errorf("storage: format %s: %w", path, err)
	}
	for offset, data := range sectors { // each sector is independent: order does not matter
		if _, err := f.WriteAt(data, int64(offset)); err != nil {
			return fmt.Errorf("storage: format %s: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("storage: format %s: %w", path, err)
	}
	return nil
}

// allocateChunk is how many zeros allocateJournal writes at a time.
const allocateChunk = 1 << 20

// allocateJournal writes zeros over the journal (the headers ring and the
// prepare slots), which the sparse file would otherwise read as zeros
// anyway: every journal write then overwrites blocks the file system has
// already allocated, and its fdatasync flushes data only. A write into a
// hole (or an fallocated, unwritten extent) also commits the file
// system's metadata, which on this machine's ext4 made each sync on the
// request path about 1.7 times as slow for the whole first lap of the
// journal (README, "Throughput, memory, and etcd side by side"). The
// checkpoint areas stay sparse: they are written in large pieces, off the
// acknowledgement path.
func allocateJournal(f *os.File, l *vsr.Layout) error {
	zeros := make([]byte, allocateChunk)
	for at := l.HeadersOffset; at < l.CheckpointOffset; {
		n := min(uint64(len(zeros)), l.CheckpointOffset-at)
		if _, err := f.WriteAt(zeros[:n], int64(at)); err != nil {
			return err
		}
		at += n
	}
	return nil
}

// Open opens a formatted data file for opts.
func Open(path string, opts vsr.Options) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("storage: open: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	want := vsr.NewLayout(opts).Size
	if uint64(info.Size()) != want {
		f.Close()
		return nil, fmt.Errorf("storage: %s is %d bytes; a data file for these options is %d (was it formatted with others?)",
			path, info.Size(), want)
	}
	wakeFd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("storage: open %s: eventfd: %w", path, err)
	}
	file := &File{file: f, size: want, wakeFd: wakeFd, stopped: make(chan struct{})}
	file.ready = sync.NewCond(&file.mu)
	go file.run()
	return file, nil
}

// Close waits for the I/O submitted so far, then closes the file.
// Completions not yet drained are dropped.
func (f *File) Close() error {
	f.mu.Lock()
	f.closing = true
	f.ready.Signal()
	f.mu.Unlock()
	<-f.stopped
	unix.Close(f.wakeFd)
	return f.file.Close()
}

// WakeFd is an eventfd that is readable while completions wait: the
// replica's loop polls it beside its sockets and calls ClearWake.
func (f *File) WakeFd() int { return f.wakeFd }

// ClearWake resets WakeFd's readiness.
func (f *File) ClearWake() {
	var b [8]byte
	_, _ = unix.Read(f.wakeFd, b[:])
}

// Stats returns what the I/O goroutine did so far.
func (f *File) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

func (f *File) check(offset uint64, n int) {
	if offset%vsr.SectorSize != 0 || n%vsr.SectorSize != 0 || offset+uint64(n) > f.size {
		panic(fmt.Sprintf("storage: I/O of %d bytes at %d is not whole sectors inside the %d-byte file", n, offset, f.size))
	}
}

// Read submits a read of buf from offset; a failed or short read
// completes with an error. buf is not touched by the caller until the
// completion.
func (f *File) Read(offset uint64, buf []byte, tag uint64) {
	f.check(offset, len(buf))
	f.submit(request{offset: offset, buf: buf, tag: tag})
}

// Write submits a write of (a copy of) data at offset. Its completion comes
// once it is durable (the fdatasync of its group returned). A write that
// fails completes with an error; the replica writes it again.
func (f *File) Write(offset uint64, data []byte, tag uint64) {
	f.check(offset, len(data))
	var buf []byte
	f.mu.Lock()
	if n := len(f.free); n > 0 && cap(f.free[n-1]) >= len(data) {
		buf = f.free[n-1][:len(data)]
		f.free = f.free[:n-1]
	} else if len(data) > freeSizeMax {
		for i, large := range f.large {
			if cap(large) >= len(data) {
				buf, f.large[i] = large[:len(data)], nil
				break
			}
		}
	}
	f.mu.Unlock()
	if buf == nil {
		buf = make([]byte, len(data), max(len(data), 64<<10)) // room for the largest prepare, to be reused
	}
	copy(buf, data)
	f.submit(request{write: true, offset: offset, buf: buf, tag: tag})
}

func (f *File) submit(r request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closing {
		panic("storage: I/O submitted to a closed file")
	}
	f.queue = append(f.queue, r)
	f.ready.Signal()
}

// run is the I/O goroutine: it takes the queue as a group, runs its reads
// and writes in submission order (a read sees every write submitted before
// it), syncs once if the group wrote, and posts the completions.
func (f *File) run() {
	defer close(f.stopped)
	var group []request
	var results []completion
	for {
		f.mu.Lock()
		for len(f.queue) == 0 && !f.closing {
			f.ready.Wait()
		}
		if len(f.queue) == 0 {
			f.mu.Unlock()
			return
		}
		n := min(len(f.queue), groupMax)
		group = append(group[:0], f.queue[:n]...)
		rest := copy(f.queue, f.queue[n:])
		clear(f.queue[rest:]) // the backing array must not keep the taken requests' buffers alive
		f.queue = f.queue[:rest]
		f.mu.Unlock()
		results = f.runGroup(group, results[:0])
		f.post(group, results)
	}
}

// runGroup performs a group's I/O and returns one completion per request.
func (f *File) runGroup(group []request, results []completion) []completion {
	wrote := false
	for _, r := range group {
		var err error
		if r.write {
			_, err = f.file.WriteAt(r.buf, int64(r.offset))
			wrote = true
		} else {
			_, err = f.file.ReadAt(r.buf, int64(r.offset))
		}
		results = append(results, completion{tag: r.tag, err: err})
	}
	if wrote {
		if err := f.sync(); err != nil {
			for i, r := range group { // no write of the group is known durable
				if r.write && results[i].err == nil {
					results[i].err = err
				}
			}
		}
	}
	return results
}

// post hands a group's completions to the loop and recycles its write
// buffers.
func (f *File) post(group []request, results []completion) {
	f.mu.Lock()
	f.stats.Groups++
	for _, r := range group {
		if r.write {
			f.stats.Writes++
			f.recycle(r.buf)
		} else {
			f.stats.Reads++
		}
	}
	if anyWrite(group) {
		f.stats.Syncs++
	}
	f.done = append(f.done, results...)
	f.mu.Unlock()
	// Drop the group's references to the replica's buffers before the loop
	// hears of the completions: once it has, it may drop them too (the
	// open's read buffers, the whole journal) and expect them collected.
	clear(group)
	var one [8]byte
	one[0] = 1
	_, _ = unix.Write(f.wakeFd, one[:])
}

// recycle keeps a completed write's buffer for reuse, within the bounds
// of freeMax and freeSizeMax; the large buffers of the last two checkpoint
// writes are kept apart, so that a checkpoint does not leave garbage of its
// size behind every time.
func (f *File) recycle(buf []byte) {
	switch {
	case cap(buf) > freeSizeMax:
		f.large[1], f.large[0] = f.large[0], buf
	case len(f.free) < freeMax:
		f.free = append(f.free, buf)
	}
}

func anyWrite(group []request) bool {
	for _, r := range group {
		if r.write {
			return true
		}
	}
	return false
}

// sync makes the file's writes durable, timed for OnSync if it is set.
func (f *File) sync() error {
	if f.OnSync == nil {
		return fdatasync(f.file)
	}
	started := time.Now()
	err := fdatasync(f.file)
	f.OnSync(time.Since(started))
	return err
}

func fdatasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// Drain hands every completion so far to complete, oldest first, and
// reports how many. Completions that complete itself causes wait for the
// next Drain.
func (f *File) Drain(complete func(tag uint64, err error)) int {
	f.mu.Lock()
	f.drained, f.done = f.done, f.drained[:0]
	f.mu.Unlock()
	for _, c := range f.drained {
		complete(c.tag, c.err)
	}
	return len(f.drained)
}

// Pending reports whether completions wait to be drained.
func (f *File) Pending() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.done) > 0
}
