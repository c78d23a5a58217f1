// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) over TCP for tests:
// STARTTLS or implicit TLS with a certificate made for the test, AUTH PLAIN and LOGIN, and every
// message kept as the bytes it arrived as. It can be stopped and started again on the same
// address (an outage), and told to stall (a server that accepts and never answers) or reject.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one delivered mail.
type Message struct {
	From     string
	To       []string
	Data     []byte // the message as received (headers and MIME body)
	TLS      bool   // the session was encrypted
	AuthUser string // "" when the client did not authenticate
	At       time.Time
}

// Options configure a Server.
type Options struct {
	Implicit   bool   // TLS from the first byte (smtps://); otherwise STARTTLS is offered
	NoSTARTTLS bool   // offer no STARTTLS (a plain-text server)
	User, Pass string // when set, AUTH is offered and these credentials required to send
	RejectRcpt string // an address whose RCPT TO is refused with 550
}

// Server is a running test SMTP server.
type Server struct {
	t      testing.TB
	opts   Options
	Addr   string // host:port, stable across Stop and Start
	CAFile string // PEM of the certificate, to trust it (SMTP_CA_FILE)
	CAPool *x509.CertPool
	tls    *tls.Config

	mu      sync.Mutex
	srv     *smtp.Server
	ln      net.Listener
	msgs    []Message
	arrived chan struct{}
	stall   bool
	stalled []net.Conn
	stallLn net.Listener
}

// Start starts a server on a free port of 127.0.0.1 and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	cert, pemBytes := selfSigned(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "smtp-ca.pem")
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	s := &Server{t: t, opts: opts, CAFile: caFile, CAPool: pool, arrived: make(chan struct{}, 1),
		tls: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.Stop)
	return s
}

// Port is the server's port.
func (s *Server) Port() string {
	_, p, _ := net.SplitHostPort(s.Addr)
	return p
}

func (s *Server) serve(ln net.Listener) {
	srv := smtp.NewServer(backend{s})
	srv.Domain = "smtptest.local"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.AllowInsecureAuth = false // AUTH only over TLS, as real servers do
	if !s.opts.NoSTARTTLS || s.opts.Implicit {
		srv.TLSConfig = s.tls
	}
	if s.opts.Implicit {
		ln = tls.NewListener(ln, s.tls)
	}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Stop closes the server (its address refuses connections until Start).
func (s *Server) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		_ = ln.Close() // itself: Serve may not have taken it yet, and then Close would miss it
		_ = srv.Close()
	}
	s.Unstall()
}

// Restart serves again on the same address.
func (s *Server) Restart() {
	s.t.Helper()
	s.Unstall()
	s.serve(s.relisten())
}

// relisten listens on the server's address again; the port may linger a moment after a close.
func (s *Server) relisten() net.Listener {
	s.t.Helper()
	var err error
	for range 100 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", s.Addr); err == nil {
			return ln
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("smtptest: listen again on %s: %v", s.Addr, err)
	return nil
}

// Stall stops the server and listens on its address without ever answering: a client
// connects, then waits for a greeting that never comes.
func (s *Server) Stall() {
	s.t.Helper()
	s.Stop()
	ln := s.relisten()
	s.mu.Lock()
	s.stall, s.stallLn = true, ln
	s.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.stalled = append(s.stalled, c)
			s.mu.Unlock()
		}
	}()
}

// Unstall closes the stalling listener and its connections.
func (s *Server) Unstall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stall {
		return
	}
	s.stall = false
	_ = s.stallLn.Close()
	for _, c := range s.stalled {
		_ = c.Close()
	}
	s.stalled = nil
}

// Stalled reports how many connections are waiting on a stalled server.
func (s *Server) Stalled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.stalled)
}

// Messages returns the messages received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait waits up to timeout for a message to rcpt accepted matching match (nil: any), and
// returns it.
func (s *Server) Wait(timeout time.Duration, match func(Message) bool) (Message, bool) {
	deadline := time.Now().Add(timeout)
	for {
		for _, m := range s.Messages() {
			if match == nil || match(m) {
				return m, true
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return Message{}, false
		}
		select {
		case <-s.arrived:
		case <-time.After(min(left, 50*time.Millisecond)):
		}
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}

func (x *session) AuthMechanisms() []string {
	if x.s.opts.User == "" {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (x *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != x.s.opts.User || pass != x.s.opts.Pass {
			return errors.New("invalid credentials")
		}
		x.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.opts.User != "" && x.user == "" {
		return errAuthRequired
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if x.s.opts.RejectRcpt != "" && to == x.s.opts.RejectRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := x.conn.TLSConnectionState()
	m := Message{From: x.from, To: x.to, Data: bytes.Clone(data), TLS: isTLS, AuthUser: x.user, At: time.Now()}
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, m)
	x.s.mu.Unlock()
	select {
	case x.s.arrived <- struct{}{}:
	default:
	}
	return nil
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN (a de-facto standard go-sasl has no server for):
// it asks for the user name, then the password.
type loginServer struct {
	check func(user, pass string) error
	user  string
	step  int
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if response == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.user, l.step = string(response), 2
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(response))
	}
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, valid for a day.
func selfSigned(t testing.TB) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "smtptest"},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:        true, BasicConstraintsValid: true,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM
}
