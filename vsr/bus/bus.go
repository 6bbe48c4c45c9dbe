// Package bus carries a replica's (or a client process's) messages over
// TCP with one epoll loop on one goroutine: the replica is touched only
// from that goroutine, as in the simulator. Each process dials every
// replica it talks to and sends on those connections; it receives on
// whatever connections reach it. A message is framed by its own header,
// whose checksum is verified before its size is believed. Connections that
// send garbage are closed; dropped connections are dialed again with
// backoff; queues are bounded, and a full one drops new messages (the
// protocol retries).
package bus

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/govsr/govsr/vsr"
)

// Config describes a process's place in a cluster.
type Config struct {
	Cluster        vsr.U128
	Addresses      []string // every replica's host:port, by index
	Replica        int      // this replica's index, or -1 for a client process
	MessageSizeMax uint32
	SendQueueMax   int // messages queued per connection (default 256)
	ConnectionsMax int // connections accepted at once (default 1024)

	// Faults turns on fault injection for chaos tests (faults.go); nil: off.
	Faults *Faults
}

// Stats counts what the bus did.
type Stats struct {
	Sent, Received, Dropped, Accepted, Dialed, Closed uint64
}

// Loop is the event loop. It implements vsr.Bus.
type Loop struct {
	cfg      Config
	epfd     int
	listenFd int
	addrs    []unix.Sockaddr
	conns    map[int32]*conn    // by fd; looked up, never iterated for decisions
	peers    []*conn            // the connection this process dialed to each replica
	redial   []time.Time        // when to dial each missing peer again
	clients  map[vsr.U128]*conn // replica side: which connection a client's requests came on
	receive  func(message []byte)
	events   []unix.EpollEvent
	stats    Stats
	faults   *faultState // nil unless Config.Faults
}

type conn struct {
	fd         int
	peer       int // the replica this process dialed, or -1 for an accepted connection
	connecting bool
	recv       []byte // MessageSizeMax bytes; recvLen of them hold a partial message
	recvLen    int
	send       [][]byte // queued messages, oldest first
	sendOff    int      // bytes of send[0] already written
	writable   bool     // registered for EPOLLOUT
}

// New opens the loop: it listens (a replica) and starts dialing the
// replicas. receive is called with each whole message, valid only during
// the call.
func New(cfg Config, receive func(message []byte)) (*Loop, error) {
	if cfg.SendQueueMax == 0 {
		cfg.SendQueueMax = 256
	}
	if cfg.ConnectionsMax == 0 {
		cfg.ConnectionsMax = 1024
	}
	if cfg.Replica >= len(cfg.Addresses) || cfg.MessageSizeMax < vsr.HeaderSize {
		return nil, fmt.Errorf("bus: replica %d of %d addresses, message size max %d", cfg.Replica, len(cfg.Addresses), cfg.MessageSizeMax)
	}
	l := &Loop{cfg: cfg, listenFd: -1, conns: map[int32]*conn{}, clients: map[vsr.U128]*conn{},
		peers: make([]*conn, len(cfg.Addresses)), redial: make([]time.Time, len(cfg.Addresses)),
		receive: receive, events: make([]unix.EpollEvent, 64)}
	if cfg.Faults != nil {
		if err := cfg.Faults.Validate(); err != nil {
			return nil, err
		}
		l.faults = newFaultState(cfg.Faults, cfg.Replica)
	}
	for _, a := range cfg.Addresses {
		sa, err := sockaddr(a)
		if err != nil {
			return nil, err
		}
		l.addrs = append(l.addrs, sa)
	}
	var err error
	if l.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("bus: epoll: %w", err)
	}
	if cfg.Replica >= 0 {
		if err := l.listen(l.addrs[cfg.Replica]); err != nil {
			l.Close()
			return nil, fmt.Errorf("bus: listen on %s: %w", cfg.Addresses[cfg.Replica], err)
		}
	}
	return l, nil
}

func sockaddr(address string) (unix.Sockaddr, error) {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !ap.Addr().Is4() {
		return nil, fmt.Errorf("bus: address %q is not an IPv4 host:port", address)
	}
	return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}, nil
}

func (l *Loop) listen(sa unix.Sockaddr) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		unix.Close(fd)
		return err
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return err
	}
	if err := unix.Listen(fd, 128); err != nil {
		unix.Close(fd)
		return err
	}
	l.listenFd = fd
	return unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)})
}

// Close closes every connection and the loop.
func (l *Loop) Close() error {
	for fd := range l.conns { // closing all: the order does not matter
		unix.Close(int(fd))
	}
	if l.listenFd >= 0 {
		unix.Close(l.listenFd)
	}
	return unix.Close(l.epfd)
}

// Stats returns the bus's counters.
func (l *Loop) Stats() Stats { return l.stats }

// SendToReplica queues a copy of message for replica.
func (l *Loop) SendToReplica(replica uint8, message []byte) {
	if int(replica) == l.cfg.Replica || int(replica) >= len(l.peers) {
		panic(fmt.Sprintf("bus: send to replica %d from replica %d", replica, l.cfg.Replica))
	}
	if l.faults != nil {
		if message = l.faults.inject(destination{replica: int(replica)}, message); message == nil {
			return
		}
	}
	l.enqueue(l.peers[replica], message)
}

// SendToClient queues a copy of message on the connection client's
// requests arrive on, if it still has one.
func (l *Loop) SendToClient(client vsr.U128, message []byte) {
	if l.faults != nil {
		if message = l.faults.inject(destination{replica: -1, client: client}, message); message == nil {
			return
		}
	}
	l.enqueue(l.clients[client], message)
}

func (l *Loop) enqueue(c *conn, message []byte) {
	if c == nil || c.connecting || len(c.send) >= l.cfg.SendQueueMax {
		l.stats.Dropped++
		return
	}
	c.send = append(c.send, append([]byte(nil), message...))
	l.stats.Sent++
	l.flush(c)
}

// Poll dials the replicas it is missing, waits up to timeout for I/O, and
// handles what is ready: new connections, whole messages (to receive),
// room to send.
func (l *Loop) Poll(timeout time.Duration) error {
	l.dialMissing()
	if l.faults != nil {
		timeout = l.release(timeout)
	}
	n, err := unix.EpollWait(l.epfd, l.events, int(timeout.Milliseconds()))
	if err != nil {
		if errors.Is(err, unix.EINTR) {
			return nil
		}
		return fmt.Errorf("bus: epoll wait: %w", err)
	}
	for _, ev := range l.events[:n] {
		if int(ev.Fd) == l.listenFd {
			l.accept()
			continue
		}
		c, ok := l.conns[ev.Fd]
		if !ok {
			continue
		}
		l.handle(c, ev.Events)
	}
	return nil
}

func (l *Loop) handle(c *conn, events uint32) {
	if events&(unix.EPOLLERR|unix.EPOLLHUP) != 0 && events&unix.EPOLLIN == 0 {
		l.close(c)
		return
	}
	if events&unix.EPOLLOUT != 0 {
		if c.connecting && !l.finishConnect(c) {
			return
		}
		l.flush(c)
	}
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP) != 0 {
		l.read(c)
	}
}

func (l *Loop) dialMissing() {
	now := time.Now()
	for i := range l.peers {
		if i == l.cfg.Replica || l.peers[i] != nil || now.Before(l.redial[i]) {
			continue
		}
		l.redial[i] = now.Add(200 * time.Millisecond)
		l.dial(i)
	}
}

func (l *Loop) dial(replica int) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	err = unix.Connect(fd, l.addrs[replica])
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		unix.Close(fd)
		return
	}
	c := &conn{fd: fd, peer: replica, connecting: true, recv: make([]byte, l.cfg.MessageSizeMax)}
	if err := l.register(c, unix.EPOLLIN|unix.EPOLLOUT|unix.EPOLLRDHUP); err != nil {
		unix.Close(fd)
		return
	}
	c.writable = true
	l.peers[replica] = c
	l.stats.Dialed++
}

func (l *Loop) finishConnect(c *conn) bool {
	errno, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil || errno != 0 {
		l.close(c)
		return false
	}
	c.connecting = false
	return true
}

func (l *Loop) register(c *conn, events uint32) error {
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, c.fd, &unix.EpollEvent{Events: events, Fd: int32(c.fd)}); err != nil {
		return err
	}
	l.conns[int32(c.fd)] = c
	return nil
}

func (l *Loop) accept() {
	for range l.cfg.ConnectionsMax {
		fd, _, err := unix.Accept4(l.listenFd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err != nil {
			return // EAGAIN: no more waiting
		}
		if len(l.conns) >= l.cfg.ConnectionsMax {
			unix.Close(fd)
			continue
		}
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		c := &conn{fd: fd, peer: -1, recv: make([]byte, l.cfg.MessageSizeMax)}
		if err := l.register(c, unix.EPOLLIN|unix.EPOLLRDHUP); err != nil {
			unix.Close(fd)
			continue
		}
		l.stats.Accepted++
	}
}

func (l *Loop) close(c *conn) {
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	unix.Close(c.fd)
	delete(l.conns, int32(c.fd))
	if c.peer >= 0 && l.peers[c.peer] == c {
		l.peers[c.peer] = nil
	}
	for id, cc := range l.clients { // removing matches: the order does not matter
		if cc == c {
			delete(l.clients, id)
		}
	}
	l.stats.Closed++
}

// read takes whatever the socket holds and hands over each whole message.
func (l *Loop) read(c *conn) {
	for range 1024 {
		n, err := unix.Read(c.fd, c.recv[c.recvLen:])
		if n > 0 {
			c.recvLen += n
			if !l.frame(c) {
				l.close(c)
				return
			}
		}
		if err != nil || n == 0 {
			if n == 0 && err == nil || err != nil && !errors.Is(err, unix.EAGAIN) {
				l.close(c) // end of stream, or an error
			}
			return
		}
	}
}

// frame delivers the whole messages at the start of c.recv and keeps the
// rest; it reports false if the stream holds something that is not a
// message of this cluster.
func (l *Loop) frame(c *conn) bool {
	for c.recvLen >= vsr.HeaderSize {
		h, err := vsr.DecodeHeader(c.recv[:vsr.HeaderSize])
		if err != nil || h.Cluster != l.cfg.Cluster || h.Size > l.cfg.MessageSizeMax {
			return false
		}
		if c.recvLen < int(h.Size) {
			return true
		}
		if c.peer < 0 && h.Command == vsr.CommandRequest {
			l.clients[h.Client] = c
		}
		l.stats.Received++
		if l.faults == nil || !l.faults.cut(h.Command) {
			l.receive(c.recv[:h.Size])
		}
		copy(c.recv, c.recv[h.Size:c.recvLen])
		c.recvLen -= int(h.Size)
	}
	return true
}

// flush writes queued messages until the socket is full.
func (l *Loop) flush(c *conn) {
	for len(c.send) > 0 && !c.connecting {
		n, err := unix.Write(c.fd, c.send[0][c.sendOff:])
		if n > 0 {
			c.sendOff += n
			if c.sendOff == len(c.send[0]) {
				c.send[0] = nil
				c.send, c.sendOff = c.send[1:], 0
			}
			continue
		}
		if err != nil && !errors.Is(err, unix.EAGAIN) {
			l.close(c)
			return
		}
		break
	}
	l.wantWritable(c, len(c.send) > 0 || c.connecting)
}

func (l *Loop) wantWritable(c *conn, want bool) {
	if c.writable == want {
		return
	}
	events := uint32(unix.EPOLLIN | unix.EPOLLRDHUP)
	if want {
		events |= unix.EPOLLOUT
	}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: events, Fd: int32(c.fd)}); err == nil {
		c.writable = want
	}
}
