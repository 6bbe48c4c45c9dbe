// Package bus carries a replica's (or a client process's) messages over
// TCP with one epoll loop on one goroutine: the replica is touched only
// from that goroutine, as in the simulator. Each process dials every
// replica it talks to and sends on those connections; it receives on
// whatever connections reach it. A message is framed by its own header,
// whose checksum is verified before its size is believed. Connections that
// send garbage are closed; dropped connections are dialed again with
// backoff; queues are bounded, and a full one drops new messages (the
// protocol retries). Sends are batched: a message is appended to its
// connection's send buffer, and Poll writes each buffer that has something,
// once, before it waits and after it has handled what was ready, so that
// the messages one input causes leave in one write per connection.
package bus

import (
	"errors"
	"fmt"
	"net"
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
	SendQueueMax   int // messages queued per connection, counted as SendQueueMax × MessageSizeMax bytes (default 256)
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
	watched  map[int32]func() // extra fds Poll wakes for (Watch), by fd
	dirty    []*conn          // connections with bytes queued since the last flush
	stats    Stats
	faults   *faultState // nil unless Config.Faults
}

type conn struct {
	fd         int
	peer       int // the replica this process dialed, or -1 for an accepted connection
	connecting bool
	recv       []byte // MessageSizeMax bytes; recvLen of them hold a partial message
	recvLen    int
	send       []byte // queued messages, back to back; send[sendOff:] is not yet written
	sendOff    int
	dirty      bool // in Loop.dirty
	closed     bool
	writable   bool // registered for EPOLLOUT
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

// sockaddr resolves a host:port: an IPv4 literal, a bracketed IPv6 literal, or a hostname,
// looked up once, here (its first address wins).
func sockaddr(address string) (unix.Sockaddr, error) {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		tcp, rerr := net.ResolveTCPAddr("tcp", address)
		if rerr != nil {
			return nil, fmt.Errorf("bus: address %q is not a host:port: %w", address, rerr)
		}
		ap = tcp.AddrPort()
	}
	if a := ap.Addr().Unmap(); a.Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}, nil
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	if zone := ap.Addr().Zone(); zone != "" {
		ifi, err := net.InterfaceByName(zone)
		if err != nil {
			return nil, fmt.Errorf("bus: address %q: zone: %w", address, err)
		}
		sa.ZoneId = uint32(ifi.Index)
	}
	return sa, nil
}

// family is the address family of a socket for sa.
func family(sa unix.Sockaddr) int {
	if _, ok := sa.(*unix.SockaddrInet6); ok {
		return unix.AF_INET6
	}
	return unix.AF_INET
}

func (l *Loop) listen(sa unix.Sockaddr) error {
	fd, err := unix.Socket(family(sa), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
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

// Watch makes Poll return when fd becomes readable (say, an eventfd the
// storage signals when I/O completes), calling ready, which must make fd
// not readable again. The loop does not own or close fd.
func (l *Loop) Watch(fd int, ready func()) error {
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
		return fmt.Errorf("bus: watch fd %d: %w", fd, err)
	}
	if l.watched == nil {
		l.watched = map[int32]func(){}
	}
	l.watched[int32(fd)] = ready
	return nil
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
	if c == nil || c.connecting || len(c.send)-c.sendOff+len(message) > l.cfg.SendQueueMax*int(l.cfg.MessageSizeMax) {
		l.stats.Dropped++
		return
	}
	if c.sendOff > 0 && c.sendOff == len(c.send) {
		c.send, c.sendOff = c.send[:0], 0
	}
	if c.sendOff > 0 && len(c.send)+len(message) > cap(c.send) {
		// Reclaim the written prefix before the buffer would grow.
		n := copy(c.send, c.send[c.sendOff:])
		c.send, c.sendOff = c.send[:n], 0
	}
	c.send = append(c.send, message...)
	l.stats.Sent++
	if !c.dirty {
		c.dirty = true
		l.dirty = append(l.dirty, c)
	}
}

// flushDirty writes every connection that queued messages since the last
// flush.
func (l *Loop) flushDirty() {
	for i, c := range l.dirty {
		c.dirty = false
		l.dirty[i] = nil
		if !c.closed {
			l.flush(c)
		}
	}
	l.dirty = l.dirty[:0]
}

// Poll dials the replicas it is missing, waits up to timeout for I/O, and
// handles what is ready: new connections, whole messages (to receive),
// room to send.
func (l *Loop) Poll(timeout time.Duration) error {
	l.dialMissing()
	if l.faults != nil {
		timeout = l.release(timeout)
	}
	l.flushDirty()
	// Round up: a wait truncated to 0 ms would spin until the deadline.
	n, err := unix.EpollWait(l.epfd, l.events, int((timeout+time.Millisecond-1)/time.Millisecond))
	defer l.flushDirty()
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
		if ready, ok := l.watched[ev.Fd]; ok {
			ready()
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
	if l.connected() {
		return
	}
	now := time.Now()
	for i := range l.peers {
		if i == l.cfg.Replica || l.peers[i] != nil || now.Before(l.redial[i]) {
			continue
		}
		l.redial[i] = now.Add(200 * time.Millisecond)
		l.dial(i)
	}
}

// connected reports whether this process holds a connection to every
// other replica.
func (l *Loop) connected() bool {
	for i, p := range l.peers {
		if p == nil && i != l.cfg.Replica {
			return false
		}
	}
	return true
}

func (l *Loop) dial(replica int) {
	fd, err := unix.Socket(family(l.addrs[replica]), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
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
	c.closed = true
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
	start := 0 // the whole messages before it are delivered
	defer func() {
		// Keep the partial message for the next read: one move per read,
		// not one per message.
		c.recvLen = copy(c.recv, c.recv[start:c.recvLen])
	}()
	for c.recvLen-start >= vsr.HeaderSize {
		h, err := vsr.DecodeHeader(c.recv[start : start+vsr.HeaderSize])
		if err != nil || h.Cluster != l.cfg.Cluster || h.Size > l.cfg.MessageSizeMax || h.Size < vsr.HeaderSize {
			return false
		}
		if c.recvLen-start < int(h.Size) {
			return true
		}
		if c.peer < 0 && h.Command == vsr.CommandRequest {
			l.clients[h.Client] = c
		}
		l.stats.Received++
		if l.faults == nil || !l.faults.cut(h.Command) {
			l.receive(c.recv[start : start+int(h.Size)])
		}
		start += int(h.Size)
	}
	return true
}

// flush writes queued messages until the socket is full.
func (l *Loop) flush(c *conn) {
	for range 1024 {
		if c.sendOff == len(c.send) || c.connecting {
			break
		}
		n, err := unix.Write(c.fd, c.send[c.sendOff:])
		if n > 0 {
			c.sendOff += n
			if c.sendOff == len(c.send) {
				c.send, c.sendOff = c.send[:0], 0
			}
			continue
		}
		if err != nil && !errors.Is(err, unix.EAGAIN) {
			l.close(c)
			return
		}
		break
	}
	l.wantWritable(c, c.sendOff < len(c.send) || c.connecting)
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
