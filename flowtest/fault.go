package flowtest

import (
	"net"
	"net/http"
	"os"
	"syscall"
)

// faultError is the error the Go network stack gives for a network fault,
// built with the same types (a *net.OpError around the syscall error, or
// around os.ErrDeadlineExceeded for a timeout), so that the flow's HTTP
// client, its retry policy (a refused connection is retried for any
// method, a timeout or reset only for idempotent ones) and the error the
// flow raises (code transient) are what they would be against the live
// service. The mock transport returns it from RoundTrip, where a real
// transport returns its dial and read errors; http.Client wraps it in a
// *url.Error as it does live.
//
//   - connection_refused: dial tcp HOST:PORT: connect: connection refused
//   - reset:              read tcp 127.0.0.1:49152->HOST:PORT: read: connection reset by peer
//   - timeout:            read tcp 127.0.0.1:49152->HOST:PORT: i/o timeout
//
// A timeout answers at once instead of after the step's timeout: cases do
// not wait, as retry back-offs do not.
func faultError(kind string, req *http.Request) error {
	remote := tcpAddr(hostPort(req))
	local := tcpAddr("127.0.0.1:49152")
	switch kind {
	case "connection_refused":
		return &net.OpError{Op: "dial", Net: "tcp", Addr: remote, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	case "reset":
		return &net.OpError{Op: "read", Net: "tcp", Source: local, Addr: remote, Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	}
	return &net.OpError{Op: "read", Net: "tcp", Source: local, Addr: remote, Err: os.ErrDeadlineExceeded}
}

// hostPort is the request's host with the scheme's default port.
func hostPort(req *http.Request) string {
	h := req.URL.Host
	if req.URL.Port() != "" {
		return h
	}
	if req.URL.Scheme == "http" {
		return net.JoinHostPort(req.URL.Hostname(), "80")
	}
	return net.JoinHostPort(req.URL.Hostname(), "443")
}

// tcpAddr is an address as a dial error names it (the service's host
// name: a test does not resolve names).
type tcpAddr string

func (a tcpAddr) Network() string { return "tcp" }
func (a tcpAddr) String() string  { return string(a) }
