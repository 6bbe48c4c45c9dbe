// Package storage is a replica's data file on a real disk: vsr.Storage
// over a file, each write followed by fdatasync so that a completed write
// is durable. I/O runs synchronously when submitted; its completion is
// handed to the replica later, from Drain, so the replica sees the same
// asynchronous interface it sees in the simulator.
package storage

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govsr/govsr/vsr"
)

// File is a data file opened for a replica.
type File struct {
	file *os.File
	size uint64
	done []completion // completions not yet handed to the replica, oldest first
	// OnSync, if set, is told how long each fdatasync took (metrics).
	OnSync func(time.Duration)
}

type completion struct {
	tag uint64
	err error
}

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
	if err := f.Truncate(int64(vsr.NewLayout(opts).Size)); err != nil {
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
	return &File{file: f, size: want}, nil
}

// Close closes the file. Completions not yet drained are dropped.
func (f *File) Close() error { return f.file.Close() }

func (f *File) check(offset uint64, n int) {
	if offset%vsr.SectorSize != 0 || n%vsr.SectorSize != 0 || offset+uint64(n) > f.size {
		panic(fmt.Sprintf("storage: I/O of %d bytes at %d is not whole sectors inside the %d-byte file", n, offset, f.size))
	}
}

// Read reads buf from offset; a failed or short read completes with an error.
func (f *File) Read(offset uint64, buf []byte, tag uint64) {
	f.check(offset, len(buf))
	_, err := f.file.ReadAt(buf, int64(offset))
	f.done = append(f.done, completion{tag: tag, err: err})
}

// Write writes data at offset and makes it durable (fdatasync) before its
// completion is handed back. A write that fails completes with an error;
// the replica writes it again.
func (f *File) Write(offset uint64, data []byte, tag uint64) {
	f.check(offset, len(data))
	_, err := f.file.WriteAt(data, int64(offset))
	if err == nil {
		err = f.sync()
	}
	f.done = append(f.done, completion{tag: tag, err: err})
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
	done := f.done
	f.done = nil
	for _, c := range done {
		complete(c.tag, c.err)
	}
	return len(done)
}

// Pending reports whether completions wait to be drained.
func (f *File) Pending() bool { return len(f.done) > 0 }
