package predlog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// CloudEvents types sent by the cloudevents sink.
const (
	EventTypeRequest    = "org.kubeflow.serving.inference.request"
	EventTypeResponse   = "org.kubeflow.serving.inference.response"
	EventTypePrediction = "dev.driftcar.prediction"
)

// CloudEvents modes: which events a record becomes.
const (
	// ModeKServe sends a request and a response event, as KServe's logger.
	ModeKServe = "kserve"
	// ModeCombined sends one dev.driftcar.prediction event with the record.
	ModeCombined = "combined"
	// ModeBoth sends all three.
	ModeBoth = "both"
)

// CloudEventsOptions configure a cloudevents sink: CloudEvents 1.0 over
// HTTP in binary mode.
type CloudEventsOptions struct {
	// URL receives the events (http or https).
	URL string
	// Source is ce-source, a URI reference (default "driftcar").
	Source string
	// Mode is ModeKServe (default), ModeCombined or ModeBoth.
	Mode string
	// InferenceService is the inferenceservicename extension (default:
	// the record's model).
	InferenceService string
	// Namespace is the namespace extension; empty leaves it out.
	Namespace string
	// Component is the component extension (default "predictor").
	Component string
	// ContentType of the request and response events (default
	// application/json).
	ContentType string
	// Headers are added to every HTTP request (e.g. Authorization).
	Headers map[string]string
	// Timeout bounds one HTTP request (default 5s).
	Timeout time.Duration
}

// Validate checks o; errors name the field.
func (o CloudEventsOptions) Validate() error {
	var errs []error
	if o.URL == "" {
		errs = append(errs, errors.New("url: required"))
	} else if u, err := url.Parse(o.URL); err != nil {
		errs = append(errs, fmt.Errorf("url: %w", err))
	} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("url: %q must be http:// or https:// with a host", o.URL))
	}
	if o.Source != "" {
		if _, err := url.Parse(o.Source); err != nil {
			errs = append(errs, fmt.Errorf("source: not a URI reference: %w", err))
		}
	}
	switch o.Mode {
	case "", ModeKServe, ModeCombined, ModeBoth:
	default:
		errs = append(errs, fmt.Errorf("mode: unknown %q, want %s, %s or %s", o.Mode, ModeKServe, ModeCombined, ModeBoth))
	}
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: must be >= 0, got %s", o.Timeout))
	}
	return errors.Join(errs...)
}

// CloudEventsSink sends each record as CloudEvents. A record's events go
// out in order; a failed one fails the batch, so a retry may resend
// events the receiver already has (same ce-id and ce-type).
type CloudEventsSink struct {
	opts   CloudEventsOptions
	client cloudevents.Client
	tr     *http.Transport
	state  sinkState
	buf    chan []byte // JSON buffers for combined events
}

var _ Sink = (*CloudEventsSink)(nil)

// NewCloudEventsSink returns a sink sending to o.URL. It does not
// connect until the first write.
func NewCloudEventsSink(o CloudEventsOptions) (*CloudEventsSink, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Source == "" {
		o.Source = "driftcar"
	}
	if o.Mode == "" {
		o.Mode = ModeKServe
	}
	if o.Component == "" {
		o.Component = "predictor"
	}
	if o.ContentType == "" {
		o.ContentType = cloudevents.ApplicationJSON
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	hopts := []cehttp.Option{
		cloudevents.WithTarget(o.URL),
		cehttp.WithClient(http.Client{Transport: tr, Timeout: o.Timeout}),
	}
	for k, v := range o.Headers {
		hopts = append(hopts, cehttp.WithHeader(k, v))
	}
	p, err := cloudevents.NewHTTP(hopts...)
	if err != nil {
		return nil, fmt.Errorf("cannot create cloudevents protocol: %w", err)
	}
	c, err := cloudevents.NewClient(p)
	if err != nil {
		return nil, fmt.Errorf("cannot create cloudevents client: %w", err)
	}
	return &CloudEventsSink{opts: o, client: c, tr: tr, buf: make(chan []byte, 4)}, nil
}

// Write sends the events of each record in batch.
func (s *CloudEventsSink) Write(ctx context.Context, batch []*Record) error {
	ctx = cloudevents.WithEncodingBinary(ctx)
	for _, r := range batch {
		if err := s.send(ctx, r); err != nil {
			s.state.set(err)
			return err
		}
	}
	s.state.set(nil)
	return nil
}

func (s *CloudEventsSink) send(ctx context.Context, r *Record) error {
	if s.opts.Mode != ModeCombined {
		if err := s.emit(ctx, r, EventTypeRequest, s.opts.ContentType, r.RequestBody); err != nil {
			return err
		}
		if err := s.emit(ctx, r, EventTypeResponse, s.opts.ContentType, r.ResponseBody); err != nil {
			return err
		}
	}
	if s.opts.Mode != ModeKServe {
		var b []byte
		select {
		case b = <-s.buf:
		default:
		}
		b = r.AppendJSON(b[:0])
		err := s.emit(ctx, r, EventTypePrediction, cloudevents.ApplicationJSON, b)
		select {
		case s.buf <- b:
		default:
		}
		return err
	}
	return nil
}

func (s *CloudEventsSink) emit(ctx context.Context, r *Record, typ, contentType string, data []byte) error {
	e := cloudevents.NewEvent()
	e.SetID(r.RequestID)
	e.SetType(typ)
	e.SetSource(s.opts.Source)
	if !r.Time.IsZero() {
		e.SetTime(r.Time)
	}
	isvc := s.opts.InferenceService
	if isvc == "" {
		isvc = r.Model
	}
	e.SetExtension("inferenceservicename", isvc)
	if s.opts.Namespace != "" {
		e.SetExtension("namespace", s.opts.Namespace)
	}
	e.SetExtension("component", s.opts.Component)
	e.SetExtension("endpoint", r.Endpoint())
	if len(data) > 0 {
		if err := e.SetData(contentType, data); err != nil {
			return fmt.Errorf("cannot set %s data: %w", typ, err)
		}
	}
	res := s.client.Send(ctx, e)
	if !cloudevents.IsACK(res) {
		return fmt.Errorf("cannot send %s event %q: %w", typ, r.RequestID, res)
	}
	return nil
}

// Ready reports the last write's error.
func (s *CloudEventsSink) Ready() error { return s.state.get() }

// Close closes the idle connections.
func (s *CloudEventsSink) Close(context.Context) error {
	s.tr.CloseIdleConnections()
	return nil
}
