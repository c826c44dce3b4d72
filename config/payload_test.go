package config

import (
	"strings"
	"testing"
)

// payloadBase samples and shadows one route; each case appends to it or
// replaces its protocol line.
const payloadBase = `upstreams:
  live: { address: 127.0.0.1:8501 }
  shadow: { address: 127.0.0.1:8502 }
routes:
  - name: predict
    protocol: kserve-v1
    split: [{ upstream: live, weight: 1 }]
    sample: { fraction: 1 }
    shadow: { upstream: shadow, fraction: 1 }
reference: { file: ref.json }
`

func TestParsePayloadSettings(t *testing.T) {
	tests := []struct {
		name, protocol, compare, extra, want string
	}{
		{
			name:  "feature paths, the prediction path and the protocol agree",
			extra: "features:\n  - { name: age, type: numeric, path: \"instances[*].age\" }\nprediction: { type: numeric, path: \"predictions[*].score\" }\n",
		},
		{
			name:  "a tensor on a kserve-v1 route",
			extra: "features:\n  - { name: pixels, type: numeric, tensor: input_0 }\n",
			want:  "features[0].tensor: protocol kserve-v1 has no tensors (read by routes[0].sample) (line 12)",
		},
		{
			name:     "a tensor on an open-inference-v2 route",
			protocol: "open-inference-v2",
			extra:    "features:\n  - { name: pixels, type: numeric, tensor: input_0, column: 3 }\nprediction: { type: numeric, output: probs }\n",
		},
		{
			name:  "a bad feature path",
			extra: "features:\n  - { name: age, type: numeric, path: \"instances[*].age[*]\" }\n",
			want:  `features[0].path: path "instances[*].age[*]": more than one [*] (line 12)`,
		},
		{
			name:     "json needs a prediction path",
			protocol: "json",
			extra:    "features:\n  - { name: age, type: numeric }\nprediction: { type: numeric }\n",
			want: `routes[0].shadow.compare.path: required with protocol json (or set prediction.path) (line 9)
prediction.path: required with protocol json (read by routes[0].sample) (line 13)`,
		},
		{
			name:  "a bad prediction path",
			extra: "features:\n  - { name: age, type: numeric }\nprediction: { type: numeric, path: \"predictions[x]\" }\n",
			want:  `prediction.path: path "predictions[x]": bad index [x] (line 13)`,
		},
		{
			name:  "an output on a kserve-v1 route",
			extra: "features:\n  - { name: age, type: numeric }\nprediction: { type: numeric, output: probs }\n",
			want:  "prediction.output: protocol kserve-v1 has no tensors (read by routes[0].sample) (line 13)",
		},
		{
			name:    "a bad compare path",
			compare: "result..scores",
			extra:   "features:\n  - { name: age, type: numeric }\n",
			want:    `routes[0].shadow.compare.path: path "result..scores": empty key (line 9)`,
		},
		{
			name:    "compare.path and prediction.path disagree",
			compare: "result.scores",
			extra:   "features:\n  - { name: age, type: numeric }\nprediction: { type: numeric, path: \"predictions[*].score\" }\n",
			want:    `routes[0].shadow.compare.path: "result.scores" differs from prediction.path "predictions[*].score": the shadow compares the prediction that drift monitors, so set one of them (line 9)`,
		},
		{
			name:     "json shadow reads prediction.path",
			protocol: "json",
			extra:    "features:\n  - { name: age, type: numeric }\nprediction: { type: numeric, path: \"result.scores\" }\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := payloadBase + tc.extra
			if tc.protocol != "" {
				in = strings.Replace(in, "protocol: kserve-v1", "protocol: "+tc.protocol, 1)
			}
			if tc.compare != "" {
				in = strings.Replace(in, "fraction: 1 }\nref", "fraction: 1, compare: { path: \""+tc.compare+"\" } }\nref", 1)
			}
			_, err := Parse([]byte(in))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("config:\n%s\ngot  %q\nwant %q", in, got, tc.want)
			}
		})
	}
}
