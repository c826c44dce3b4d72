package config

import (
	"strings"
	"testing"
	"time"
)

// withPrediction is validBase with a numeric prediction on line 12; the
// cases of TestGroundTruthRules put ground_truth on line 13.
const withPrediction = validBase + "prediction: { type: numeric }\n"

// TestGroundTruthRules has one case per rule of the ground_truth section
// and of canary_guard.max_accuracy_drop. Each asserts the whole error.
func TestGroundTruthRules(t *testing.T) {
	const categorical = validBase + "prediction: { type: categorical }\n"
	tests := []struct {
		name, base, yaml, want string
	}{
		{"no label type", withPrediction, "ground_truth: { ttl: 1m }\n",
			`ground_truth.label.type: required (line 13)`},
		{"unknown label type", withPrediction, "ground_truth:\n  label: { type: ordinal }\n",
			`ground_truth.label.type: must be binary, categorical or numeric, got "ordinal" (line 14)`},
		{"threshold out of range", withPrediction, "ground_truth:\n  label: { type: binary, threshold: 1 }\n",
			`ground_truth.label.threshold: must be in (0, 1), got 1 (line 14)`},
		{"threshold on a numeric label", withPrediction, "ground_truth:\n  label: { type: numeric, threshold: 0.5 }\n",
			`ground_truth.label.threshold: only applies to a binary label, got type numeric (line 14)`},
		{"classes on a binary label", withPrediction, "ground_truth:\n  label: { type: binary, classes: [a, b] }\n",
			`ground_truth.label.classes: only applies to a categorical label, got type binary (line 14)`},
		{"duplicate class", categorical, "ground_truth:\n  label:\n    type: categorical\n    classes:\n      - cat\n      - dog\n      - cat\n",
			`ground_truth.label.classes[2]: duplicate class "cat" (first at ground_truth.label.classes[0]) (line 19)`},
		{"too many classes", categorical, "ground_truth:\n  label: { type: categorical, classes: [" + classList(65) + "] }\n",
			`ground_truth.label.classes: at most 64 classes, got 65 (line 14)`},
		{"numeric label, categorical prediction", categorical, "ground_truth:\n  label: { type: numeric }\n",
			`ground_truth.label.type: a numeric label needs a numeric prediction, got prediction.type categorical (line 14)`},
		{"categorical label, numeric prediction", withPrediction, "ground_truth:\n  label: { type: categorical }\n",
			`ground_truth.label.type: a categorical label needs a categorical prediction (the class), got prediction.type numeric (line 14)`},
		{"label column is the prediction's", withPrediction, "ground_truth:\n  label: { type: binary, column: prediction }\n",
			`ground_truth.label.column: "prediction" is also the prediction's column (line 14)`},
		{"label column is a feature", withPrediction + "features: [{ name: age, type: numeric }]\n", "ground_truth:\n  label: { type: binary, column: age }\n",
			`ground_truth.label.column: "age" is also a feature (features[0]): the label must not be a model input (line 15)`},
		{"min_accuracy out of range", withPrediction, "ground_truth:\n  label: { type: binary }\n  sla: { min_accuracy: 1.5 }\n",
			`ground_truth.sla.min_accuracy: must be in [0, 1], got 1.5 (line 15)`},
		{"min_accuracy on a numeric label", withPrediction, "ground_truth:\n  label: { type: numeric }\n  sla: { min_accuracy: 0.9 }\n",
			`ground_truth.sla.min_accuracy: only applies to a binary or categorical label, got type numeric (line 15)`},
		{"max_rmse not positive", withPrediction, "ground_truth:\n  label: { type: numeric }\n  sla: { max_rmse: 0 }\n",
			`ground_truth.sla.max_rmse: must be a finite number > 0, got 0 (line 15)`},
		{"max_mae negative", withPrediction, "ground_truth:\n  label: { type: numeric }\n  sla: { max_mae: -1 }\n",
			`ground_truth.sla.max_mae: must be a finite number > 0, got -1 (line 15)`},
		{"max_mae on a binary label", withPrediction, "ground_truth:\n  label: { type: binary }\n  sla: { max_mae: 2 }\n",
			`ground_truth.sla.max_mae: only applies to a numeric label, got type binary (line 15)`},
		{"no prediction", validBase, "ground_truth:\n  label: { type: binary }\n",
			`ground_truth: needs a prediction section: labels are joined with the predictions it reads (line 12)`},
		{"ttl too short", withPrediction, "ground_truth:\n  label: { type: binary }\n  ttl: 0s\n",
			`ground_truth.ttl: must be >= 1s, got 0s (line 15)`},
		{"max_entries too large", withPrediction, "ground_truth:\n  label: { type: binary }\n  max_entries: 50000001\n",
			`ground_truth.max_entries: must be in 1..50000000, got 50000001 (line 15)`},
		{"margin out of range", withPrediction, "ground_truth:\n  label: { type: binary }\n  margin: 1\n",
			`ground_truth.margin: must be in [0, 1), got 1 (line 15)`},
		{"alpha out of range", withPrediction, "ground_truth:\n  label: { type: binary }\n  alpha: 0.9\n",
			`ground_truth.alpha: must be in (0, 0.5], got 0.9 (line 15)`},
		{"min_labels too small", withPrediction, "ground_truth:\n  label: { type: binary }\n  min_labels: 5\n",
			`ground_truth.min_labels: must be >= 10, got 5 (line 15)`},
		{"reference_rows too small", withPrediction, "ground_truth:\n  label: { type: binary }\n  reference_rows: 3\n",
			`ground_truth.reference_rows: must be >= 10, got 3 (line 15)`},
		{"max_body too small", withPrediction, "ground_truth:\n  label: { type: binary }\n  max_body: 100\n",
			`ground_truth.max_body: must be in 1KiB..256MiB, got 100B (line 15)`},
		{"queue zero", withPrediction, "ground_truth:\n  label: { type: binary }\n  queue: 0\n",
			`ground_truth.queue: must be in 1..1048576, got 0 (line 15)`},
		{"kafka without brokers", withPrediction, "ground_truth:\n  label: { type: binary }\n  kafka: { topic: labels }\n",
			`ground_truth.kafka.brokers: at least one broker is required for a label consumer (line 15)`},
		{"kafka without topic", withPrediction, "ground_truth:\n  label: { type: binary }\n  kafka: { brokers: [\"k:9092\"] }\n",
			`ground_truth.kafka.topic: required for a label consumer (line 15)`},
		{"kafka bad topic", withPrediction, "ground_truth:\n  label: { type: binary }\n  kafka: { brokers: [\"k:9092\"], topic: \"labels/{model}\" }\n",
			`ground_truth.kafka.topic: must be a Kafka topic name ([a-zA-Z0-9._-], at most 249), got "labels/{model}" (line 15)`},
		{"kafka bad SASL", withPrediction, "ground_truth:\n  label: { type: binary }\n  kafka: { brokers: [\"k:9092\"], topic: labels, sasl: { mechanism: gssapi, username: u, password_env: P } }\n",
			`ground_truth.kafka.sasl.mechanism: must be plain, scram-sha-256 or scram-sha-512, got "gssapi" (line 15)`},
		{"kafka TLS cert without key", withPrediction, "ground_truth:\n  label: { type: binary }\n  kafka: { brokers: [\"k:9092\"], topic: labels, tls: { cert_file: /c.pem } }\n",
			`ground_truth.kafka.tls: cert_file and key_file go together (line 15)`},
		{"max_accuracy_drop without ground_truth", withPrediction, "canary_guard: { max_accuracy_drop: 0.05 }\n",
			`canary_guard.max_accuracy_drop: needs a ground_truth section: accuracy comes from labels (line 13)`},
		{"max_accuracy_drop out of range", withPrediction, "canary_guard: { max_accuracy_drop: 0 }\nground_truth: { label: { type: binary } }\n",
			`canary_guard.max_accuracy_drop: must be in (0, 1], got 0 (line 13)`},
		{"max_accuracy_drop on a numeric label", withPrediction, "canary_guard: { max_accuracy_drop: 0.05 }\nground_truth: { label: { type: numeric } }\n",
			`canary_guard.max_accuracy_drop: needs a binary or categorical label, got ground_truth.label.type numeric (line 13)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.base + tc.yaml))
			if err == nil {
				t.Fatalf("got nil error; want %q", tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

func classList(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = "c" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	return strings.Join(names, ", ")
}

func TestGroundTruthDefaults(t *testing.T) {
	c, err := Parse([]byte(withPrediction + "ground_truth:\n  label: { type: binary }\n  kafka: { brokers: [\"k:9092\"], topic: labels }\n"))
	if err != nil {
		t.Fatal(err)
	}
	g := c.GroundTruth
	if g.Label.Threshold == nil || *g.Label.Threshold != 0.5 {
		t.Errorf("label.threshold: got %v; want 0.5", g.Label.Threshold)
	}
	if time.Duration(g.TTL) != time.Hour || g.MaxEntries != 1_000_000 || g.Margin != 0.02 || g.Alpha != 0.05 ||
		g.MinLabels != 200 || g.ReferenceRows != 1000 || g.MaxBody != 8<<20 || g.Queue != 4096 {
		t.Errorf("defaults: got %+v", g)
	}
	if g.Kafka.Group != "driftcar" {
		t.Errorf("kafka.group: got %q; want driftcar", g.Kafka.Group)
	}
	if !g.Label.IsClassification() {
		t.Error("binary label: IsClassification() = false; want true")
	}
}

// TestGroundTruthExplicitZero: a margin set to 0 stays 0 (test for "any
// improvement"), unlike a margin left out.
func TestGroundTruthExplicitZero(t *testing.T) {
	c, err := Parse([]byte(withPrediction + "ground_truth:\n  label: { type: numeric }\n  margin: 0\n  sla: { max_mae: 2.5 }\n"))
	if err != nil {
		t.Fatal(err)
	}
	g := c.GroundTruth
	if g.Margin != 0 {
		t.Errorf("margin: got %v; want 0", g.Margin)
	}
	if g.Label.Threshold != nil || g.Label.IsClassification() {
		t.Errorf("numeric label: got threshold %v, classification %v; want nil, false", g.Label.Threshold, g.Label.IsClassification())
	}
	if g.SLA.MaxMAE == nil || *g.SLA.MaxMAE != 2.5 || g.SLA.MaxRMSE != nil {
		t.Errorf("sla: got %+v", g.SLA)
	}
}
