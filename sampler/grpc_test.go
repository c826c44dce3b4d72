package sampler

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/driftcar/driftcar/internal/payload"
	"github.com/driftcar/driftcar/internal/testutil"
)

// modelInferAges is a ModelInferRequest with one FP32 input "age" of the
// given values in raw_input_contents.
func modelInferAges(ages ...float32) []byte {
	var in, raw []byte
	in = protowire.AppendTag(in, 1, protowire.BytesType)
	in = protowire.AppendString(in, "age")
	in = protowire.AppendTag(in, 2, protowire.BytesType)
	in = protowire.AppendString(in, "FP32")
	in = protowire.AppendTag(in, 3, protowire.BytesType)
	in = protowire.AppendBytes(in, protowire.AppendVarint(nil, uint64(len(ages))))
	for _, a := range ages {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(a))
	}
	var b []byte
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	b = protowire.AppendBytes(b, in)
	b = protowire.AppendTag(b, 7, protowire.BytesType)
	return protowire.AppendBytes(b, raw)
}

func grpcTap(t testing.TB, queue, maxBody int) *Tap {
	t.Helper()
	set, err := NewSet(model(t), []RouteSpec{{Route: "predict", Protocol: payload.OpenInferenceV2,
		Fraction: 1, Queue: queue, MaxBody: maxBody, Workers: 1}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Stop)
	return set.Tap("predict")
}

func TestSampleModelInferDecodesRowsAndCountsBadMessages(t *testing.T) {
	tap := grpcTap(t, 64, 64)
	tap.SampleModelInfer(modelInferAges(20, 30, 40), nil, "live")
	tap.SampleModelInfer([]byte{0xff, 0xff}, nil, "live")
	tap.SampleModelInfer(modelInferAges(make([]float32, 40)...), nil, "live") // > MaxBody
	testutil.Eventually(t, 10*time.Second, "both queued copies are decoded", func() bool {
		return tap.QueueLength() == 0 && tap.counts.invalid.Load()[payload.ReasonMalformedProtobuf] == 1
	})
	if rows := tap.counts.rows.Load(); rows != 3 {
		t.Errorf("rows: got %d; want 3", rows)
	}
	if n := tap.counts.dropped[dropBodyTooLarge].Load(); n != 1 {
		t.Errorf("body_too_large: got %d; want 1", n)
	}
	if w := tap.State().Window(0, 1); w.N != 3 {
		t.Errorf("age window: got n=%d; want 3", w.N)
	}
}
