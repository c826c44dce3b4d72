package config

import (
	"math"
	"time"
)

// GroundTruth joins labels, sent later through the feedback API or a
// Kafka topic, with the predictions of every arm, to measure each arm's
// performance, concept drift and the champion/challenger verdicts.
type GroundTruth struct {
	// Label says what an outcome is. Required.
	Label Label `yaml:"label" json:"label"`
	// TTL is how long a prediction waits for its label. Default 1h.
	TTL Duration `yaml:"ttl" json:"ttl"`
	// MaxEntries bounds the join table (predictions waiting for labels);
	// when full the oldest are evicted and counted. Default 1000000, at
	// most 50000000.
	MaxEntries int `yaml:"max_entries" json:"max_entries"`
	// Margin is how much better a challenger's primary metric must be:
	// absolute for accuracy, relative for MAE. Default 0.02.
	Margin float64 `yaml:"margin" json:"margin"`
	// Alpha is the significance level of the verdicts. Default 0.05.
	Alpha float64 `yaml:"alpha" json:"alpha"`
	// MinLabels is the fewest labelled outcomes for a verdict or a
	// performance state other than insufficient_data. Default 200.
	MinLabels int `yaml:"min_labels" json:"min_labels"`
	// ReferenceRows: when the reference profile has no performance, the
	// first ReferenceRows labelled live rows set it. Default 1000.
	ReferenceRows int `yaml:"reference_rows" json:"reference_rows"`
	// SLA holds plain floors and ceilings of the live performance.
	// Default: none.
	SLA SLA `yaml:"sla" json:"sla"`
	// MaxBody bounds a feedback request body; larger ones get 413.
	// Default 8MiB.
	MaxBody ByteSize `yaml:"max_body" json:"max_body"`
	// Queue bounds the answers waiting to be decoded for the join; when
	// full they are dropped and counted. Default 4096.
	Queue int `yaml:"queue" json:"queue"`
	// Kafka, when set, also consumes labels from a topic keyed by request
	// id (the prediction log's key). Default: the feedback API only.
	Kafka *LabelKafka `yaml:"kafka,omitempty" json:"kafka,omitempty"`
}

// Label types.
const (
	LabelBinary      = "binary"
	LabelCategorical = "categorical"
	LabelNumeric     = "numeric"
)

// Label describes the outcomes of one model.
type Label struct {
	// Type is binary (0/1, true/false), categorical (a class name) or
	// numeric. Required. Binary and categorical labels need a categorical
	// prediction, or for binary a numeric score; numeric labels need a
	// numeric prediction.
	Type string `yaml:"type" json:"type"`
	// Threshold turns a binary score into a class: score >= threshold is
	// 1. Binary only; default 0.5, in (0,1).
	Threshold *float64 `yaml:"threshold" json:"threshold,omitempty"`
	// Classes are the class names of a categorical label, at most 64.
	// Optional: without them the classes are the categories of the
	// reference's prediction profile.
	Classes []string `yaml:"classes,omitempty" json:"classes,omitempty"`
	// Column is the label's column in the training file of `reference
	// build` (a CSV column or a JSONL field, like the features'). Default:
	// none, and the reference gets no performance from the file.
	Column string `yaml:"column,omitempty" json:"column,omitempty"`
}

// IsClassification reports whether l is binary or categorical.
func (l *Label) IsClassification() bool {
	return l.Type == LabelBinary || l.Type == LabelCategorical
}

// SLA is a plain threshold on the live arm's performance, apart from the
// statistical tests. Unset fields are off.
type SLA struct {
	// MinAccuracy is a floor in [0,1]; classification only.
	MinAccuracy *float64 `yaml:"min_accuracy" json:"min_accuracy,omitempty"`
	// MaxRMSE and MaxMAE are ceilings > 0; numeric labels only.
	MaxRMSE *float64 `yaml:"max_rmse" json:"max_rmse,omitempty"`
	MaxMAE  *float64 `yaml:"max_mae" json:"max_mae,omitempty"`
}

// LabelKafka is a consumer of labels: each record's key is the request
// id and its value a feedback item or items, as the feedback API takes.
type LabelKafka struct {
	// Brokers are host:port seeds. Required.
	Brokers []string `yaml:"brokers" json:"brokers"`
	// Topic holds the labels. Required.
	Topic string `yaml:"topic" json:"topic"`
	// Group is the consumer group. Default "driftcar".
	Group string `yaml:"group" json:"group"`
	// TLS and SASL are those of the prediction log's kafka sink.
	TLS  *KafkaTLS  `yaml:"tls,omitempty" json:"tls,omitempty"`
	SASL *KafkaSASL `yaml:"sasl,omitempty" json:"sasl,omitempty"`
}

const (
	defaultLabelThreshold  = 0.5
	defaultLabelTTL        = time.Hour
	defaultLabelEntries    = 1_000_000
	defaultLabelMargin     = 0.02
	defaultLabelAlpha      = 0.05
	defaultMinLabels       = 200
	defaultReferenceRows   = 1000
	defaultFeedbackMaxBody = 8 << 20
	defaultLabelQueue      = 4096
	defaultLabelGroup      = "driftcar"

	maxLabelEntries    = 50_000_000
	maxLabelClasses    = 64
	maxFeedbackMaxBody = 256 << 20
)

func groundTruthDefaults(g *GroundTruth, p *fieldPath, unset func(*fieldPath, bool) bool) {
	if len(g.Label.Classes) == 0 {
		g.Label.Classes = nil // "classes: []" is no classes, as after a round trip
	}
	if g.Label.Type == LabelBinary && g.Label.Threshold == nil {
		g.Label.Threshold = ptr(defaultLabelThreshold)
	}
	if unset(p.key("ttl"), g.TTL == 0) {
		g.TTL = Duration(defaultLabelTTL)
	}
	if unset(p.key("max_entries"), g.MaxEntries == 0) {
		g.MaxEntries = defaultLabelEntries
	}
	if unset(p.key("margin"), g.Margin == 0) {
		g.Margin = defaultLabelMargin
	}
	if unset(p.key("alpha"), g.Alpha == 0) {
		g.Alpha = defaultLabelAlpha
	}
	if unset(p.key("min_labels"), g.MinLabels == 0) {
		g.MinLabels = defaultMinLabels
	}
	if unset(p.key("reference_rows"), g.ReferenceRows == 0) {
		g.ReferenceRows = defaultReferenceRows
	}
	if unset(p.key("max_body"), g.MaxBody == 0) {
		g.MaxBody = defaultFeedbackMaxBody
	}
	if unset(p.key("queue"), g.Queue == 0) {
		g.Queue = defaultLabelQueue
	}
	if k := g.Kafka; k != nil && unset(p.key("kafka").key("group"), k.Group == "") {
		k.Group = defaultLabelGroup
	}
}

func (v *validator) groundTruth(p *fieldPath, c *Config) {
	g := c.GroundTruth
	v.label(p.key("label"), c)
	if g.TTL < Duration(time.Second) {
		v.add(p.key("ttl"), "must be >= 1s, got %s", g.TTL)
	}
	if g.MaxEntries < 1 || g.MaxEntries > maxLabelEntries {
		v.add(p.key("max_entries"), "must be in 1..%d, got %d", maxLabelEntries, g.MaxEntries)
	}
	if !(g.Margin >= 0 && g.Margin < 1) {
		v.add(p.key("margin"), "must be in [0, 1), got %v", g.Margin)
	}
	if !(g.Alpha > 0 && g.Alpha <= 0.5) {
		v.add(p.key("alpha"), "must be in (0, 0.5], got %v", g.Alpha)
	}
	if g.MinLabels < 10 {
		v.add(p.key("min_labels"), "must be >= 10, got %d", g.MinLabels)
	}
	if g.ReferenceRows < 10 {
		v.add(p.key("reference_rows"), "must be >= 10, got %d", g.ReferenceRows)
	}
	v.sla(p.key("sla"), &g.SLA, g.Label.Type)
	if g.MaxBody < 1<<10 || g.MaxBody > maxFeedbackMaxBody {
		v.add(p.key("max_body"), "must be in 1KiB..256MiB, got %s", g.MaxBody)
	}
	if g.Queue < 1 || g.Queue > maxShadowQueue {
		v.add(p.key("queue"), "must be in 1..%d, got %d", maxShadowQueue, g.Queue)
	}
	if k := g.Kafka; k != nil {
		v.labelKafka(p.key("kafka"), k)
	}
	if c.Prediction == nil {
		v.add(p, "needs a prediction section: labels are joined with the predictions it reads")
	}
}

func (v *validator) label(p *fieldPath, c *Config) {
	l := &c.GroundTruth.Label
	switch l.Type {
	case LabelBinary, LabelCategorical, LabelNumeric:
	case "":
		v.add(p.key("type"), "required")
		return
	default:
		v.add(p.key("type"), "must be binary, categorical or numeric, got %q", l.Type)
		return
	}
	if t := l.Threshold; t != nil {
		switch {
		case l.Type != LabelBinary:
			v.add(p.key("threshold"), "only applies to a binary label, got type %s", l.Type)
		case !(*t > 0 && *t < 1):
			v.add(p.key("threshold"), "must be in (0, 1), got %v", *t)
		}
	}
	if len(l.Classes) > 0 && l.Type != LabelCategorical {
		v.add(p.key("classes"), "only applies to a categorical label, got type %s", l.Type)
	}
	if len(l.Classes) > maxLabelClasses {
		v.add(p.key("classes"), "at most %d classes, got %d", maxLabelClasses, len(l.Classes))
	}
	first := map[string]int{}
	for i, name := range l.Classes {
		q := p.key("classes").index(i)
		if j, dup := first[name]; dup {
			v.add(q, "duplicate class %q (first at %s)", name, p.key("classes").index(j))
			continue
		}
		first[name] = i
		v.featureName(q, name)
	}
	if l.Column != "" {
		v.labelColumn(p.key("column"), c)
	}
	if pr := c.Prediction; pr != nil {
		switch {
		case l.Type == LabelNumeric && pr.Type == TypeCategorical:
			v.add(p.key("type"), "a numeric label needs a numeric prediction, got prediction.type categorical")
		case l.Type == LabelCategorical && pr.Type == TypeNumeric:
			v.add(p.key("type"), "a categorical label needs a categorical prediction (the class), got prediction.type numeric")
		}
	}
}

// labelColumn checks that the label's training column is none of the
// columns the reference reads as model inputs and output.
func (v *validator) labelColumn(p *fieldPath, c *Config) {
	col := c.GroundTruth.Label.Column
	v.featureName(p, col)
	for i, f := range c.Features {
		if f.Name == col {
			v.add(p, "%q is also a feature (features[%d]): the label must not be a model input", col, i)
			return
		}
	}
	if pr := c.Prediction; pr != nil && (pr.Name == col || pr.Name == "" && col == "prediction") {
		v.add(p, "%q is also the prediction's column", col)
	}
}

func (v *validator) sla(p *fieldPath, s *SLA, labelType string) {
	if a := s.MinAccuracy; a != nil {
		switch {
		case !(*a >= 0 && *a <= 1):
			v.add(p.key("min_accuracy"), "must be in [0, 1], got %v", *a)
		case labelType == LabelNumeric:
			v.add(p.key("min_accuracy"), "only applies to a binary or categorical label, got type numeric")
		}
	}
	for _, ceil := range []struct {
		key string
		val *float64
	}{{"max_rmse", s.MaxRMSE}, {"max_mae", s.MaxMAE}} {
		if ceil.val == nil {
			continue
		}
		switch x := *ceil.val; {
		case !(x > 0) || math.IsInf(x, 1):
			v.add(p.key(ceil.key), "must be a finite number > 0, got %v", x)
		case labelType == LabelBinary || labelType == LabelCategorical:
			v.add(p.key(ceil.key), "only applies to a numeric label, got type %s", labelType)
		}
	}
}

func (v *validator) labelKafka(p *fieldPath, k *LabelKafka) {
	v.kafkaBrokers(p.key("brokers"), k.Brokers, "a label consumer")
	switch {
	case k.Topic == "":
		v.add(p.key("topic"), "required for a label consumer")
	case !kafkaTopicRE.MatchString(k.Topic):
		v.add(p.key("topic"), "must be a Kafka topic name ([a-zA-Z0-9._-], at most 249), got %q", k.Topic)
	}
	if k.Group == "" || len(k.Group) > 255 {
		v.add(p.key("group"), "must be a consumer group id of 1..255 bytes, got %q", k.Group)
	}
	v.kafkaSecurity(p, k.TLS, k.SASL)
}

// maxAccuracyDrop checks canary_guard.max_accuracy_drop, which judges
// the accuracy that ground_truth measures.
func (v *validator) maxAccuracyDrop(p *fieldPath, drop float64, g *GroundTruth) {
	switch {
	case !(drop > 0 && drop <= 1):
		v.add(p, "must be in (0, 1], got %v", drop)
	case g == nil:
		v.add(p, "needs a ground_truth section: accuracy comes from labels")
	case g.Label.Type == LabelNumeric:
		v.add(p, "needs a binary or categorical label, got ground_truth.label.type numeric")
	}
}
