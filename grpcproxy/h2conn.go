package grpcproxy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"sync"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Flow-control windows driftcar grants its peers, both ways. Bytes wait
// in driftcar only while the other side's window is shut, so a stream
// holds at most streamWindow and a connection at most connWindow.
const (
	streamWindow    = 1 << 20
	connWindow      = 8 << 20
	defaultWindow   = 65535 // RFC 9113 §6.9.2
	maxHeaderList   = 1 << 20
	defaultMaxFrame = 16384
	// A window is credited back once a quarter of it was relayed.
	streamCreditAt = streamWindow / 4
	connCreditAt   = connWindow / 4
)

// h2conn is one HTTP/2 connection, either side of the relay. Its reader
// goroutine owns fr's read half and the hpack decoder; everything under
// wmu is the write half.
type h2conn struct {
	nc net.Conn
	br *bufio.Reader
	fr *http2.Framer

	wmu      sync.Mutex
	bw       *bufio.Writer
	enc      *hpack.Encoder
	encBuf   bytes.Buffer
	sendWin  int64 // the peer's connection window for our DATA
	initWin  int64 // the peer's SETTINGS_INITIAL_WINDOW_SIZE
	maxFrame int   // the peer's SETTINGS_MAX_FRAME_SIZE
	unacked  int64 // bytes received and relayed, not yet credited
	blocked  []flowWaiter
	werr     error // the first write failure; the conn is closed then
}

func (c *h2conn) init(nc net.Conn) {
	c.nc = nc
	c.br = bufio.NewReaderSize(nc, 32<<10)
	c.bw = bufio.NewWriterSize(nc, 32<<10)
	c.sendWin, c.initWin, c.maxFrame = defaultWindow, defaultWindow, defaultMaxFrame
	c.fr = http2.NewFramer(c.bw, c.br)
	c.fr.SetReuseFrames() // a frame is done with before the next is read
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = maxHeaderList
	c.enc = hpack.NewEncoder(&c.encBuf)
}

// ourSettings are what driftcar tells each peer.
func ourSettings(extra ...http2.Setting) []http2.Setting {
	return append([]http2.Setting{
		{ID: http2.SettingInitialWindowSize, Val: streamWindow},
		{ID: http2.SettingMaxHeaderListSize, Val: maxHeaderList},
	}, extra...)
}

// frameReady reports whether a whole frame is already buffered, so that
// reading it will not block and writes may wait for the next flush.
func (c *h2conn) frameReady() bool {
	n := c.br.Buffered()
	if n < 9 {
		return false
	}
	h, _ := c.br.Peek(3)
	return n >= 9+int(uint32(h[0])<<16|uint32(h[1])<<8|uint32(h[2]))
}

// applySettings takes the peer's SETTINGS and acknowledges them. It
// returns how much the initial stream window grew.
func (c *h2conn) applySettings(f *http2.SettingsFrame, b *batch) (delta int64, err error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	err = f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta += int64(s.Val) - c.initWin
			c.initWin = int64(s.Val)
		case http2.SettingMaxFrameSize:
			c.maxFrame = int(s.Val)
		case http2.SettingHeaderTableSize:
			c.enc.SetMaxDynamicTableSizeLimit(s.Val)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	c.check(c.fr.WriteSettingsAck())
	b.addControl(c)
	return delta, nil
}

// check records a write failure and closes the connection, so that its
// reader ends every stream on it.
func (c *h2conn) check(err error) {
	if err != nil && c.werr == nil {
		c.werr = err
		_ = c.nc.Close()
	}
}

// writeHeadersLocked encodes fields into HEADERS and CONTINUATION frames.
// authority, when set, replaces the :authority field.
func (c *h2conn) writeHeadersLocked(id uint32, fields []hpack.HeaderField, authority string, end bool) {
	c.encBuf.Reset()
	for _, f := range fields {
		if authority != "" && f.Name == ":authority" {
			f.Value = authority
		}
		_ = c.enc.WriteField(f)
	}
	block := c.encBuf.Bytes()
	first := true
	for first || len(block) > 0 {
		n := min(len(block), c.maxFrame)
		frag, last := block[:n], n == len(block)
		if first {
			c.check(c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: frag, EndStream: end, EndHeaders: last}))
			first = false
		} else {
			c.check(c.fr.WriteContinuation(id, last, frag))
		}
		block = block[n:]
	}
}

// writeDataLocked writes as much of p as the windows allow, in frames of
// the peer's size, with END_STREAM after the last byte when end is set.
// It returns the bytes written; a stream left short for want of the
// connection's window is queued for its next WINDOW_UPDATE.
func (c *h2conn) writeDataLocked(st flowWaiter, id uint32, win *int64, p []byte, end bool) int {
	if len(p) == 0 && !end {
		return 0
	}
	n := int(max(0, min(int64(len(p)), *win, c.sendWin)))
	if n == 0 && len(p) > 0 {
		if c.sendWin <= 0 {
			c.blocked = append(c.blocked, st)
		}
		return 0
	}
	done := n == len(p)
	for off := 0; ; {
		k := min(n-off, c.maxFrame)
		last := off+k == n
		c.check(c.fr.WriteData(id, end && done && last, p[off:off+k]))
		off += k
		if last {
			break
		}
	}
	c.sendWin -= int64(n)
	*win -= int64(n)
	if !done && c.sendWin <= 0 {
		c.blocked = append(c.blocked, st)
	}
	return n
}

// credit returns n relayed bytes of stream id's window (id 0: none) and of
// the connection's, once enough have gathered. streamUnacked is the
// stream's tally; nil when the stream is gone or ended.
func (c *h2conn) credit(id uint32, streamUnacked *int64, n int, b *batch) {
	if n <= 0 {
		return
	}
	c.wmu.Lock()
	c.unacked += int64(n)
	if c.unacked >= connCreditAt {
		c.check(c.fr.WriteWindowUpdate(0, uint32(c.unacked)))
		c.unacked = 0
		b.addControl(c)
	}
	if streamUnacked != nil {
		*streamUnacked += int64(n)
		if *streamUnacked >= streamCreditAt {
			c.check(c.fr.WriteWindowUpdate(id, uint32(*streamUnacked)))
			*streamUnacked = 0
			b.addControl(c)
		}
	}
	c.wmu.Unlock()
}

// flowWaiter is a stream that waits for a connection's send window.
type flowWaiter interface {
	// unblocked sends what waits for c's window, under the stream's lock.
	unblocked(c *h2conn, b *batch)
}

// windowUpdate adds to the connection's send window and returns the
// streams that were waiting for it.
func (c *h2conn) windowUpdate(incr uint32) []flowWaiter {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.sendWin += int64(incr)
	blocked := c.blocked
	c.blocked = nil
	return blocked
}

func (c *h2conn) writeRST(id uint32, code http2.ErrCode, b *batch) {
	c.wmu.Lock()
	c.check(c.fr.WriteRSTStream(id, code))
	c.wmu.Unlock()
	b.add(c)
}

func (c *h2conn) ping(f *http2.PingFrame, b *batch) {
	if f.IsAck() {
		return
	}
	c.wmu.Lock()
	c.check(c.fr.WritePing(true, f.Data))
	c.wmu.Unlock()
	b.addControl(c)
}

func (c *h2conn) goAway(lastID uint32, code http2.ErrCode, debug string) {
	c.wmu.Lock()
	c.check(c.fr.WriteGoAway(lastID, code, []byte(debug)))
	c.check(c.bw.Flush())
	c.wmu.Unlock()
}

// flush writes out what the connection's writer holds.
func (c *h2conn) flush() {
	c.wmu.Lock()
	if c.bw.Buffered() > 0 {
		c.check(c.bw.Flush())
	}
	c.wmu.Unlock()
}

// batch gathers the connections a goroutine wrote to, so that a burst of
// frames leaves in one write per connection, and the client calls that
// ended, whose callbacks run after the flush, under no lock. Connections
// with calls' frames are flushed before those with only control frames
// (acks, window updates), which no call waits for: an upstream's PING
// that arrives with a response does not delay the response.
type batch struct {
	conns   []*h2conn
	control []*h2conn
	ended   []*clientCall
}

func (b *batch) add(c *h2conn) { b.conns = addConn(b.conns, c) }

func (b *batch) addControl(c *h2conn) { b.control = addConn(b.control, c) }

func addConn(conns []*h2conn, c *h2conn) []*h2conn {
	for _, x := range conns {
		if x == c {
			return conns
		}
	}
	return append(conns, c)
}

func (b *batch) flush() {
	b.conns = flushConns(b.conns)
	b.control = flushConns(b.control)
	for i, cc := range b.ended {
		b.ended[i] = nil
		cc.done(cc.reply, cc.err)
	}
	b.ended = b.ended[:0]
}

func flushConns(conns []*h2conn) []*h2conn {
	for i, c := range conns {
		c.flush()
		conns[i] = nil
	}
	return conns[:0]
}

// grpcLength reads a gRPC message prefix's length.
func grpcLength(h []byte) uint32 { return binary.BigEndian.Uint32(h[1:5]) }
