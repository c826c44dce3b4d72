package xds

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"go.uber.org/zap"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/driftcar/driftcar/config"
)

// maxErrorDetail bounds the message of a NACK.
const maxErrorDetail = 4096

// Client is a state-of-the-world ADS client that turns Envoy resources
// into driftcar configs. Build it with New and call Run once.
type Client struct {
	opts     Options
	log      *zap.Logger
	metrics  *metrics
	ran      atomic.Bool
	syncedCh chan struct{}

	// stateMu is held by Run's goroutine while it handles an event or
	// publishes, and by SetBase; it guards the fields below.
	stateMu        sync.Mutex
	base           map[string]any
	types          [numKinds]*typeState
	view           *view
	applied        *config.Config
	appliedVersion string
	lastVersion    string
	synced         bool
	syncedClosed   bool
	connected      bool
	notes          []string
	warnedNoRoutes bool
	timerSeq       uint64

	mu     sync.Mutex
	status Status
}

// typeState is the protocol state of one resource kind.
type typeState struct {
	kind kind
	// version is the last ACKed version_info; it survives reconnects.
	version string
	// received reports that a response of the kind arrived, accepted or
	// not.
	received bool
	// missing are requested names declared not to exist by their timer;
	// "*" stands for a wildcard subscription never answered.
	missing map[string]bool
	// lastNack is the error of the last NACK, cleared by an ACK.
	lastNack    string
	nackVersion string
	nackRepeats int

	// Stream-scoped state, reset when a stream ends.
	nonce        string
	sent         bool
	sentNames    []string
	sentWildcard bool
	explicitSent bool
	timers       map[string]*timer
	nackTimer    *timer
	nackNonce    string
	nackMsg      string
}

type timer struct {
	id   uint64
	stop func() bool
}

// New checks opts and returns a Client. It does not connect.
func New(opts Options) (*Client, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	base, _ := parseBase(opts.Base)
	c := &Client{
		opts:     opts,
		log:      opts.Logger,
		metrics:  newMetrics(opts.Registerer),
		base:     base,
		syncedCh: make(chan struct{}),
		view:     newView(),
	}
	for k := range numKinds {
		c.types[k] = &typeState{kind: k, missing: map[string]bool{}, timers: map[string]*timer{}}
	}
	c.publish()
	return c, nil
}

// Synced is closed once the first config built from xDS has been applied.
func (c *Client) Synced() <-chan struct{} { return c.syncedCh }

// Run connects to the control plane and keeps a stream open until ctx
// ends, reconnecting with backoff. It returns nil when ctx ends, and an
// error only if the connection cannot be set up at all. Call it once.
func (c *Client) Run(ctx context.Context) error {
	if !c.ran.CompareAndSwap(false, true) {
		return errors.New("xds: Run called twice")
	}
	dial := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: grpcbackoff.Config{
				BaseDelay:  reconnectBackoff.Initial,
				Multiplier: reconnectBackoff.Multiplier,
				Jitter:     reconnectBackoff.Jitter,
				MaxDelay:   reconnectBackoff.Max,
			},
			MinConnectTimeout: 5 * time.Second,
		}),
		grpc.WithUserAgent("driftcar"),
	}, c.opts.DialOptions...)
	conn, err := grpc.NewClient(c.opts.Server, dial...)
	if err != nil {
		return fmt.Errorf("cannot create an xDS client for %s: %w", c.opts.Server, err)
	}
	defer func() { _ = conn.Close() }()
	ads := discoveryv3.NewAggregatedDiscoveryServiceClient(conn)
	attempt := 0
	for {
		got, err := c.runStream(ctx, ads)
		if ctx.Err() != nil {
			return nil
		}
		if got {
			attempt = 0
		}
		d := c.opts.Backoff(attempt)
		attempt++
		c.log.Warn("xDS stream ended; keeping the last config and reconnecting",
			zap.String("server", c.opts.Server), zap.Error(err), zap.Duration("backoff", d))
		if !c.sleep(ctx, d) {
			return nil
		}
	}
}

// SetBase replaces Options.Base, for a reload of the --config file. Once
// a config has been applied, it rebuilds that config over the new base
// and applies it at once; an error (a base that does not parse, or a
// config Apply rejects) keeps the previous base and config. Before the
// first sync it only takes effect with the first config. Safe for
// concurrent use; it calls Apply on the caller's goroutine.
func (c *Client) SetBase(data []byte) error {
	if _, err := config.ParseWith(data, config.ParseOptions{AllowEmptyRouting: true}); err != nil {
		return fmt.Errorf("xds: cannot use the new base: %w", err)
	}
	base, err := parseBase(data)
	if err != nil {
		return fmt.Errorf("xds: cannot use the new base: %w", err)
	}
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	old := c.base
	c.base = base
	if !c.synced {
		return nil
	}
	err = c.guard(func() error {
		_, err := c.buildAndApply(c.view, c.appliedVersion)
		return err
	})
	if err != nil {
		c.base = old
		return fmt.Errorf("xds: cannot apply the new base: %w", err)
	}
	c.publish()
	return nil
}

func (c *Client) sleep(ctx context.Context, d time.Duration) bool {
	done := make(chan struct{})
	stop := c.opts.Clock.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return true
	case <-ctx.Done():
		stop()
		return false
	}
}

// stream is one ADS stream.
type stream struct {
	ctx       context.Context
	out       chan *discoveryv3.DiscoveryRequest
	events    chan event
	nodeSent  bool
	responses int
}

type eventType uint8

const (
	evResponse eventType = iota
	evRecvErr
	evTimer
	evNack
)

type event struct {
	typ  eventType
	resp *discoveryv3.DiscoveryResponse
	err  error
	kind kind
	name string
	id   uint64
}

// post delivers ev to the stream's loop, or drops it once the stream
// ended.
func (s *stream) post(ev event) {
	select {
	case s.events <- ev:
	case <-s.ctx.Done():
	}
}

// runStream runs one stream until it fails or ctx ends, and reports
// whether it received a response.
func (c *Client) runStream(ctx context.Context, ads discoveryv3.AggregatedDiscoveryServiceClient) (bool, error) {
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	s := &stream{
		ctx:    sctx,
		out:    make(chan *discoveryv3.DiscoveryRequest, 64),
		events: make(chan event, 16),
	}
	defer func() {
		cancel()
		wg.Wait()
		c.endStream()
	}()
	st, err := ads.StreamAggregatedResources(sctx)
	if err != nil {
		return false, fmt.Errorf("cannot open an ADS stream: %w", err)
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case req := <-s.out:
				if err := st.Send(req); err != nil {
					// Recv reports why the stream broke.
					return
				}
			case <-sctx.Done():
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			resp, err := st.Recv()
			if err != nil {
				s.post(event{typ: evRecvErr, err: err})
				return
			}
			s.post(event{typ: evResponse, resp: resp})
		}
	}()
	c.stateMu.Lock()
	for k := range numKinds {
		c.subscribe(s, k)
	}
	c.publish()
	c.stateMu.Unlock()
	for {
		select {
		case <-sctx.Done():
			return s.responses > 0, ctx.Err()
		case ev := <-s.events:
			if ev.typ == evRecvErr {
				return s.responses > 0, ev.err
			}
			c.stateMu.Lock()
			c.onEvent(s, ev)
			c.publish()
			c.stateMu.Unlock()
		}
	}
}

func (c *Client) onEvent(s *stream, ev event) {
	switch ev.typ {
	case evResponse:
		s.responses++
		if !c.connected {
			c.connected = true
			c.metrics.connected.Set(1)
			c.log.Info("xDS stream established", zap.String("server", c.opts.Server))
		}
		c.handle(s, ev.resp)
	case evTimer:
		c.onTimer(ev)
	case evNack:
		c.onDelayedNack(s, ev)
	}
}

// endStream resets the stream-scoped state: nonces, subscriptions sent,
// pending NACKs and does-not-exist timers, which restart when the names
// are requested again on the next stream.
func (c *Client) endStream() {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	for _, st := range c.types {
		for name, t := range st.timers {
			t.stop()
			delete(st.timers, name)
		}
		if st.nackTimer != nil {
			st.nackTimer.stop()
			st.nackTimer = nil
		}
		st.nonce, st.sent, st.sentNames, st.sentWildcard, st.explicitSent = "", false, nil, false, false
	}
	c.connected = false
	c.metrics.connected.Set(0)
	c.publish()
}

// desired returns the subscription of kind k under view v: the names
// (nil for a wildcard), and whether a request should be sent at all.
func (c *Client) desired(k kind, v *view) (names []string, wildcard, active bool) {
	st := c.types[k]
	switch k {
	case kindEndpoint:
		names = v.edsNames()
		return names, false, len(names) > 0 || st.explicitSent
	case kindRoute:
		if names, named := v.rdsNames(); named {
			return names, false, true
		}
		if st.explicitSent {
			// Once names were sent, an empty list unsubscribes.
			return []string{}, false, true
		}
		return nil, true, true
	case kindExtension:
		return []string{c.opts.ExtensionName}, false, true
	}
	return nil, true, true
}

// subscribe sends kind k's subscription if it is wanted and differs from
// what this stream last sent.
func (c *Client) subscribe(s *stream, k kind) {
	st := c.types[k]
	if st.nackTimer != nil {
		return // the delayed NACK carries the current names
	}
	names, wildcard, active := c.desired(k, c.view)
	if !active || st.sent && st.sentWildcard == wildcard && slices.Equal(st.sentNames, names) {
		return
	}
	c.send(s, k, &discoveryv3.DiscoveryRequest{
		VersionInfo:   st.version,
		ResponseNonce: st.nonce,
	}, names, wildcard)
}

// send completes req for kind k and queues it; it records the
// subscription and starts does-not-exist timers for names not yet seen.
func (c *Client) send(s *stream, k kind, req *discoveryv3.DiscoveryRequest, names []string, wildcard bool) {
	st := c.types[k]
	req.TypeUrl = kindURLs[k]
	req.ResourceNames = names
	if !s.nodeSent {
		req.Node = c.opts.Node
		s.nodeSent = true
	}
	st.sent, st.sentNames, st.sentWildcard = true, names, wildcard
	if !wildcard {
		st.explicitSent = true
	}
	select {
	case s.out <- req:
	case <-s.ctx.Done():
		return
	}
	want := names
	if wildcard {
		want = []string{"*"}
	}
	for name, t := range st.timers {
		if !slices.Contains(want, name) {
			t.stop()
			delete(st.timers, name)
		}
	}
	for name := range st.missing {
		if !slices.Contains(want, name) {
			delete(st.missing, name)
		}
	}
	for _, name := range want {
		have := st.received
		if !wildcard {
			_, have = c.view.res[k][name]
		}
		if have || st.missing[name] || st.timers[name] != nil {
			continue
		}
		c.timerSeq++
		id := c.timerSeq
		st.timers[name] = &timer{id: id, stop: c.opts.Clock.AfterFunc(c.opts.ResourceTimeout, func() {
			s.post(event{typ: evTimer, kind: k, name: name, id: id})
		})}
	}
}

func (c *Client) onTimer(ev event) {
	st := c.types[ev.kind]
	t := st.timers[ev.name]
	if t == nil || t.id != ev.id {
		return
	}
	delete(st.timers, ev.name)
	st.missing[ev.name] = true
	c.log.Warn("xDS resource does not exist",
		zap.String("type", kindTitles[ev.kind]), zap.String("name", ev.name),
		zap.Duration("timeout", c.opts.ResourceTimeout))
	if !c.synced && c.gateOpen(c.view) {
		if err := c.guard(func() error { return c.maybeApply(c.view, c.lastVersion) }); err != nil {
			c.log.Error("cannot apply the xDS config", zap.Error(err))
		}
	}
}

// handle answers one response with an ACK or a NACK, or ignores it if its
// type was never subscribed on this stream.
func (c *Client) handle(s *stream, resp *discoveryv3.DiscoveryResponse) {
	k, ok := kindOf(resp.GetTypeUrl())
	if !ok || !c.types[k].sent {
		c.log.Debug("ignoring an xDS response of a type not subscribed",
			zap.String("type_url", resp.GetTypeUrl()), zap.String("version", resp.GetVersionInfo()))
		return
	}
	st := c.types[k]
	st.nonce = resp.GetNonce()
	if st.nackTimer != nil {
		st.nackTimer.stop()
		st.nackTimer = nil
	}
	st.received = true
	names, wildcard, _ := c.desired(k, c.view)
	var want map[string]bool
	if !wildcard {
		want = make(map[string]bool, len(names))
		for _, n := range names {
			want[n] = true
		}
	}
	var next *view
	var notes []string
	err := c.guard(func() error {
		decoded, err := decodeResponse(k, resp, want, c.opts.ExtensionName)
		if err != nil {
			return err
		}
		full := k == kindCluster || k == kindListener || wildcard
		next = c.view.with(k, decoded, full)
		if notes, err = c.prepare(next, resp.GetVersionInfo()); err != nil {
			return fmt.Errorf("%s: %w", resourceList(k, decoded), err)
		}
		return nil
	})
	if err != nil {
		c.nack(s, k, resp, err)
		return
	}
	c.view = next
	if notes != nil {
		c.notes = notes
	}
	st.version = resp.GetVersionInfo()
	c.lastVersion = st.version
	st.lastNack, st.nackVersion, st.nackRepeats = "", "", 0
	for name := range next.res[k] {
		delete(st.missing, name)
		if t := st.timers[name]; t != nil {
			t.stop()
			delete(st.timers, name)
		}
	}
	if t := st.timers["*"]; t != nil {
		t.stop()
		delete(st.timers, "*")
	}
	delete(st.missing, "*")
	c.metrics.acks[k].Inc()
	c.metrics.lastAck[k].Set(float64(c.opts.Clock.Now().UnixNano()) / 1e9)
	c.publish() // Status shows the update before the server sees its ACK.
	names, wildcard, _ = c.desired(k, c.view)
	c.send(s, k, &discoveryv3.DiscoveryRequest{VersionInfo: st.version, ResponseNonce: st.nonce}, names, wildcard)
	for other := range numKinds {
		if other != k {
			c.subscribe(s, other)
		}
	}
}

// guard runs f and turns a panic into an error, so that a bug in
// decoding or in Apply NACKs the update instead of killing the process.
func (c *Client) guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic while handling an xDS update", zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return f()
}

// prepare builds the config of next and applies it when the first sync is
// complete and the config changed. It returns the notes of the build.
func (c *Client) prepare(next *view, version string) ([]string, error) {
	if !c.synced && !c.gateOpen(next) {
		return nil, nil
	}
	return c.buildAndApply(next, version)
}

func (c *Client) maybeApply(v *view, version string) error {
	notes, err := c.buildAndApply(v, version)
	if err == nil && notes != nil {
		c.notes = notes
	}
	return err
}

func (c *Client) buildAndApply(v *view, version string) ([]string, error) {
	cfg, notes, err := build(c.base, v, c.opts.ExtensionName)
	if errors.Is(err, errNoRoutes) {
		if !c.warnedNoRoutes {
			c.warnedNoRoutes = true
			c.log.Warn("the xDS state has no route yet; keeping the current config")
		}
		return notes, nil
	}
	if err != nil {
		return nil, err
	}
	c.warnedNoRoutes = false
	if c.applied != nil && reflect.DeepEqual(cfg, c.applied) {
		return notes, nil
	}
	if err := c.opts.Apply(Update{Config: cfg, Version: version}); err != nil {
		return nil, fmt.Errorf("cannot apply the config: %w", err)
	}
	c.applied, c.appliedVersion = cfg, version
	c.log.Info("applied a config from xDS", zap.String("version", version),
		zap.String("summary", cfg.Summary()), zap.Strings("notes", notes))
	c.synced = true // publish closes syncedCh
	return notes, nil
}

// gateOpen reports whether every subscription has been answered or timed
// out under view v, so that the first config is complete.
func (c *Client) gateOpen(v *view) bool {
	for k := range numKinds {
		st := c.types[k]
		names, wildcard, active := c.desired(k, v)
		switch {
		case !active:
		case wildcard:
			if !st.received && !st.missing["*"] {
				return false
			}
		default:
			for _, n := range names {
				if _, ok := v.res[k][n]; !ok && !st.missing[n] {
					return false
				}
			}
		}
	}
	return true
}

// nack rejects resp, at once for the first NACK of a version and after
// Options.NackDelay for repeats.
func (c *Client) nack(s *stream, k kind, resp *discoveryv3.DiscoveryResponse, err error) {
	st := c.types[k]
	msg := err.Error()
	if len(msg) > maxErrorDetail {
		msg = msg[:maxErrorDetail-3] + "..."
	}
	if st.nackVersion == resp.GetVersionInfo() && st.nackVersion != "" {
		st.nackRepeats++
	} else {
		st.nackVersion, st.nackRepeats = resp.GetVersionInfo(), 0
	}
	st.lastNack = msg
	c.publish()
	var delay time.Duration
	if st.nackRepeats > 0 {
		delay = c.opts.NackDelay(st.nackRepeats)
	}
	st.nackNonce, st.nackMsg = resp.GetNonce(), msg
	if delay <= 0 {
		c.sendNack(s, k)
		return
	}
	c.timerSeq++
	id := c.timerSeq
	st.nackTimer = &timer{id: id, stop: c.opts.Clock.AfterFunc(delay, func() {
		s.post(event{typ: evNack, kind: k, id: id})
	})}
}

func (c *Client) onDelayedNack(s *stream, ev event) {
	st := c.types[ev.kind]
	if st.nackTimer == nil || st.nackTimer.id != ev.id {
		return
	}
	st.nackTimer = nil
	c.sendNack(s, ev.kind)
}

func (c *Client) sendNack(s *stream, k kind) {
	st := c.types[k]
	names, wildcard, _ := c.desired(k, c.view)
	c.send(s, k, &discoveryv3.DiscoveryRequest{
		VersionInfo:   st.version,
		ResponseNonce: st.nackNonce,
		ErrorDetail:   &statuspb.Status{Code: int32(codes.InvalidArgument), Message: st.nackMsg},
	}, names, wildcard)
	c.metrics.nacks[k].Inc()
	c.log.Warn("rejected an xDS update; keeping the last good config",
		zap.String("type", kindTitles[k]), zap.String("version", st.nackVersion),
		zap.String("keeping_version", st.version), zap.Int("repeat", st.nackRepeats),
		zap.String("error", st.nackMsg))
}

// resourceList names the resources of one response for an error.
func resourceList(k kind, decoded map[string]any) string {
	names := slices.Sorted(maps.Keys(decoded))
	switch len(names) {
	case 0:
		return kindTitles[k] + " response without resources"
	case 1:
		return fmt.Sprintf("%s %q", kindTitles[k], names[0])
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return fmt.Sprintf("%s %s", kindTitles[k], strings.Join(q, ", "))
}
