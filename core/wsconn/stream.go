package wsconn

import (
	"context"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Stream is a WebSocket's binary frames as one byte stream, a net.Conn: what websockify-style
// tunnels and in-browser RTMP implementations send (any framing of the bytes; each Write is one
// frame). Unlike websocket.NetConn, a read deadline that passes only ends that Read (with a
// timeout error), as on a TCP socket, so that the RTMP layer can ping a quiet peer and read on.
// One goroutine of its own reads frames, at most one ahead of Read.
type Stream struct {
	ws            *websocket.Conn
	local, remote net.Addr
	frames        chan []byte
	cur           []byte // the rest of the frame being read (Read's goroutine)
	readDeadline  atomic.Int64
	writeDeadline atomic.Int64
	deadlineMoved chan struct{} // wakes a waiting Read to look at the new read deadline
	done          chan struct{}
	once          sync.Once
	err           error // why frames ended (set before frames is closed)
}

var _ net.Conn = (*Stream)(nil)

// NewStream starts reading ws's frames, each at most maxFrame bytes; a text frame ends the
// stream (1003).
func NewStream(ws *websocket.Conn, local, remote net.Addr, maxFrame int64) *Stream {
	ws.SetReadLimit(maxFrame)
	s := &Stream{ws: ws, local: local, remote: remote, frames: make(chan []byte),
		deadlineMoved: make(chan struct{}, 1), done: make(chan struct{})}
	go s.pump()
	return s
}

func (s *Stream) pump() {
	defer close(s.frames)
	for {
		typ, b, err := s.ws.Read(context.Background())
		if err == nil && typ != websocket.MessageBinary {
			_ = s.ws.Close(websocket.StatusUnsupportedData, "binary frames only")
			err = ErrBinaryFrame
		}
		if err != nil {
			s.err = err
			return
		}
		select {
		case s.frames <- b:
		case <-s.done:
			return
		}
	}
}

// Read reads the stream's bytes, waiting at most until the read deadline.
func (s *Stream) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		if err := s.awaitFrame(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

// awaitFrame waits for the next frame until the read deadline.
func (s *Stream) awaitFrame() error {
	var timeout <-chan time.Time
	if d := s.readDeadline.Load(); d != 0 {
		left := time.Until(time.Unix(0, d))
		if left <= 0 {
			return os.ErrDeadlineExceeded
		}
		t := time.NewTimer(left)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case f, ok := <-s.frames:
		if !ok {
			return s.readErr()
		}
		s.cur = f
	case <-timeout:
		return os.ErrDeadlineExceeded
	case <-s.deadlineMoved:
	}
	return nil
}

// readErr is io.EOF for a peer that closed normally.
func (s *Stream) readErr() error {
	switch websocket.CloseStatus(s.err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		return io.EOF
	}
	return s.err
}

// Write writes p as one binary frame, within the write deadline (whose passing closes the
// WebSocket: a write that timed out has left a partial frame).
func (s *Stream) Write(p []byte) (int, error) {
	ctx := context.Background()
	if d := s.writeDeadline.Load(); d != 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.Unix(0, d))
		defer cancel()
	}
	if err := s.ws.Write(ctx, websocket.MessageBinary, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close ends the WebSocket at once: what the stream carried has been written already.
func (s *Stream) Close() error {
	s.once.Do(func() { close(s.done) })
	return s.ws.CloseNow()
}

func (s *Stream) LocalAddr() net.Addr  { return s.local }
func (s *Stream) RemoteAddr() net.Addr { return s.remote }

func (s *Stream) SetDeadline(t time.Time) error {
	_ = s.SetReadDeadline(t)
	return s.SetWriteDeadline(t)
}

func (s *Stream) SetReadDeadline(t time.Time) error {
	s.readDeadline.Store(unixNano(t))
	select {
	case s.deadlineMoved <- struct{}{}:
	default:
	}
	return nil
}

func (s *Stream) SetWriteDeadline(t time.Time) error {
	s.writeDeadline.Store(unixNano(t))
	return nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
