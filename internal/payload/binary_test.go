package payload

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// binBody joins a JSON inference header and raw tensor bytes into a body
// of the binary tensor extension, and returns it with its header length.
func binBody(header string, raw ...[]byte) ([]byte, int) {
	b := []byte(header)
	for _, r := range raw {
		b = append(b, r...)
	}
	return b, len(header)
}

// enc encodes vals as little-endian elements of datatype dt.
func enc(t testing.TB, dt string, vals ...float64) []byte {
	t.Helper()
	var b []byte
	le := binary.LittleEndian
	for _, v := range vals {
		switch dt {
		case "BOOL", "UINT8":
			b = append(b, byte(v))
		case "INT8":
			b = append(b, byte(int8(v)))
		case "UINT16":
			b = le.AppendUint16(b, uint16(v))
		case "INT16":
			b = le.AppendUint16(b, uint16(int16(v)))
		case "UINT32":
			b = le.AppendUint32(b, uint32(v))
		case "INT32":
			b = le.AppendUint32(b, uint32(int32(v)))
		case "UINT64":
			b = le.AppendUint64(b, uint64(v))
		case "INT64":
			b = le.AppendUint64(b, uint64(int64(v)))
		case "FP16":
			b = le.AppendUint16(b, floatToHalf(t, v))
		case "BF16":
			bits := math.Float32bits(float32(v))
			if bits&0xffff != 0 {
				t.Fatalf("%v is not exact in BF16", v)
			}
			b = le.AppendUint16(b, uint16(bits>>16))
		case "FP32":
			b = le.AppendUint32(b, math.Float32bits(float32(v)))
		case "FP64":
			b = le.AppendUint64(b, math.Float64bits(v))
		default:
			t.Fatalf("enc: datatype %s", dt)
		}
	}
	return b
}

// floatToHalf encodes the normal binary16 values the tests use, exactly.
func floatToHalf(t testing.TB, v float64) uint16 {
	t.Helper()
	if v == 0 {
		return 0
	}
	var sign uint16
	if v < 0 {
		sign, v = 0x8000, -v
	}
	frac, exp := math.Frexp(v) // v = frac × 2^exp, frac in [0.5, 1)
	m := frac*2048 - 1024      // 10-bit fraction of (1 + m/1024) × 2^(exp-1)
	if m != math.Trunc(m) || exp-1+15 < 1 || exp-1+15 > 30 {
		t.Fatalf("%v is not a normal binary16 value", v)
	}
	return sign | uint16(exp-1+15)<<10 | uint16(m)
}

// strs encodes BYTES elements.
func strs(s ...string) []byte {
	var b []byte
	for _, e := range s {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
	}
	return b
}

func input(name, dt, shape string, size int) string {
	return `{"name": "` + name + `", "datatype": "` + dt + `", "shape": ` + shape +
		`, "parameters": {"binary_data_size": ` + strconv.Itoa(size) + `}}`
}

func TestHalfToFloat(t *testing.T) {
	for _, tc := range []struct {
		bits uint16
		want float64
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x3555, 0.333251953125},
		{0x7bff, 65504},                         // largest normal
		{0xfbff, -65504},                        // most negative normal
		{0x0400, 6.103515625e-05},               // smallest normal, 2^-14
		{0x0001, 5.960464477539063e-08},         // smallest subnormal, 2^-24
		{0x03ff, 6.097555160522461e-05},         // largest subnormal, 1023 × 2^-24
		{0x8001, -5.960464477539063e-08},        // negative subnormal
		{0x3bff, 0.99951171875},                 // largest below 1
		{0x3c01, 1.0009765625},                  // smallest above 1
		{0x7c00, math.Inf(1)},                   // +Inf
		{0xfc00, math.Inf(-1)},                  // -Inf
		{0x4248, 3.140625},                      // pi rounded
		{0xd640, -100},                          // -100
		{0x1400, 0.0009765625},                  // 2^-10
		{0x0200, 3.0517578125e-05},              // subnormal 512 × 2^-24
		{0x5bff, 255.875},                       // 0x5bff
		{0x6400, 1024},                          // 2^10
		{0x7800, 32768},                         // 2^15
		{0x3800, 0.5},                           // 0.5
		{0x4000, 2},                             // 2
		{0x4900, 10},                            // 10
		{0xb800, -0.5},                          // -0.5
		{0x2e66, 0.0999755859375},               // 0.1 rounded
		{0x0401, 6.109476089477539e-05},         // smallest normal + 1 ulp
		{0x03fe, 6.091594696044922e-05},         // largest subnormal - 1 ulp
		{0x8400, -6.103515625e-05},              // negative smallest normal
		{0x83ff, -6.097555160522461e-05},        // negative largest subnormal
		{0x7bfe, 65472},                         // largest normal - 1 ulp
		{0x0010, 9.5367431640625e-07},           // subnormal 16 × 2^-24
		{0x3e00, 1.5},                           // 1.5
		{0x4500, 5},                             // 5
		{0x5640, 100},                           // 100
		{0x63d0, 1000},                          // 1000
		{0x70e2, 10000},                         // 10000
		{0x2000, 0.0078125},                     // 2^-7
		{0x1000, 0.00048828125},                 // 2^-11
		{0x0800, 0.0001220703125},               // 2^-13
		{0x0c00, 0.000244140625},                // 2^-12
		{0x3c00 | 0x8000, -1},                   // -1
		{0x7bff & 0x7fff, 65504},                // again, masked
		{0x0000 | 0x8000, math.Copysign(0, -1)}, // -0
	} {
		got := halfToFloat(tc.bits)
		if got != tc.want || math.Signbit(got) != math.Signbit(tc.want) {
			t.Errorf("halfToFloat(%#04x) = %v; want %v", tc.bits, got, tc.want)
		}
	}
	for _, nan := range []uint16{0x7c01, 0x7e00, 0x7fff, 0xfe00, 0xfc01} {
		if got := halfToFloat(nan); !math.IsNaN(got) {
			t.Errorf("halfToFloat(%#04x) = %v; want NaN", nan, got)
		}
	}
	// Every positive finite pattern is larger than the one before, by a
	// step that doubles only within a new binade (subnormals and the
	// first binade share the step 2^-24).
	step := halfToFloat(1)
	for h := uint16(1); h < 0x7c00; h++ {
		d := halfToFloat(h) - halfToFloat(h-1)
		if h > 0x0800 && (h-1)&0x3ff == 0 {
			step *= 2
		}
		if d != step {
			t.Fatalf("halfToFloat(%#04x) - halfToFloat(%#04x) = %v; want %v", h, h-1, d, step)
		}
		if halfToFloat(h|0x8000) != -halfToFloat(h) {
			t.Fatalf("halfToFloat(%#04x) is not the negation of %#04x", h|0x8000, h)
		}
	}
}

func TestParseHeaderLength(t *testing.T) {
	for in, want := range map[string]int{
		"": JSONBody, "0": 0, "7": 7, "1234": 1234, "4294967294": 4294967294,
		"4294967295": BadHeaderLength, "99999999999999999999999": BadHeaderLength,
		"-1": BadHeaderLength, "12a": BadHeaderLength, " 1": BadHeaderLength, "1.5": BadHeaderLength,
	} {
		if got := ParseHeaderLength([]byte(in)); got != want {
			t.Errorf("ParseHeaderLength(%q) = %d; want %d", in, got, want)
		}
	}
}

// TestDecodeBinaryDatatypes reads a [2, 2] input and a [2, 1] output of
// every datatype, as numeric and categorical features and predictions.
func TestDecodeBinaryDatatypes(t *testing.T) {
	for _, tc := range []struct {
		dt         string
		vals       []float64
		num, cat   string // column 1 numeric, column 0 categorical
		predN      string // numeric prediction of an output [5, 6]
		predC      string // categorical
		outputVals []float64
	}{
		{"BOOL", []float64{1, 0, 0, 1}, "0 1", `"true" "false"`, "1 0", `"true" "false"`, []float64{1, 0}},
		{"UINT8", []float64{255, 2, 3, 4}, "2 4", `"255" "3"`, "5 6", `"5" "6"`, []float64{5, 6}},
		{"INT8", []float64{-128, -2, 3, 127}, "-2 127", `"-128" "3"`, "-5 6", `"-5" "6"`, []float64{-5, 6}},
		{"UINT16", []float64{65535, 2, 3, 4}, "2 4", `"65535" "3"`, "5 6", `"5" "6"`, []float64{5, 6}},
		{"INT16", []float64{-32768, 2, 3, -4}, "2 -4", `"-32768" "3"`, "5 6", `"5" "6"`, []float64{5, 6}},
		{"UINT32", []float64{4294967295, 2, 3, 4}, "2 4", `"4294967295" "3"`, "5 6", `"5" "6"`, []float64{5, 6}},
		{"INT32", []float64{-2147483648, 2, 3, 4}, "2 4", `"-2147483648" "3"`, "5 6", `"5" "6"`, []float64{5, 6}},
		{"UINT64", []float64{1, 2, 3, 4}, "2 4", `"1" "3"`, "5 6", `"5" "6"`, []float64{5, 6}},
		{"INT64", []float64{-1, 2, 3, 4}, "2 4", `"-1" "3"`, "5 -6", `"5" "-6"`, []float64{5, -6}},
		{"FP16", nil, "-1.5 0.0999755859375", `"0.5" "65504"`, "0.25 6", `"0.25" "6"`, []float64{0.25, 6}},
		{"BF16", []float64{0.5, -1.5, 3, 4}, "-1.5 4", `"0.5" "3"`, "0.25 6", `"0.25" "6"`, []float64{0.25, 6}},
		{"FP32", []float64{0.1, 2, 3, 4}, "2 4", `"0.1" "3"`, "0.25 6", `"0.25" "6"`, []float64{0.25, 6}},
		{"FP64", []float64{0.1, 2, 3, 4.5}, "2 4.5", `"0.1" "3"`, "0.25 6", `"0.25" "6"`, []float64{0.25, 6}},
	} {
		t.Run(tc.dt, func(t *testing.T) {
			vals := tc.vals
			if tc.dt == "FP16" {
				vals = []float64{0.5, -1.5, 65504, halfToFloat(0x2e66)}
			}
			x := enc(t, tc.dt, vals...)
			o := enc(t, tc.dt, tc.outputVals...)
			req, n := binBody(`{"inputs": [`+input("x", tc.dt, "[2, 2]", len(x))+`]}`, x)
			resp, m := binBody(`{"outputs": [`+input("o", tc.dt, "[2, 1]", len(o))+`]}`, o)
			specs := []FeatureSpec{{Name: "n", Type: Numeric, Tensor: "x", Column: 1}, {Name: "c", Type: Categorical, Tensor: "x"}}
			for _, pt := range []FeatureType{Numeric, Categorical} {
				d, err := NewDecoder(OpenInferenceV2, specs, &PredictionSpec{Type: pt}, DecoderOptions{})
				if err != nil {
					t.Fatal(err)
				}
				b, err := d.DecodeBinary(req, n, resp, m)
				if err != nil {
					t.Fatal(err)
				}
				rows, preds := showBatch(b)
				var num, cat []string
				for _, r := range rows {
					f := strings.SplitN(r, " ", 2)
					num, cat = append(num, f[0]), append(cat, f[1])
				}
				if got := strings.Join(num, " "); got != tc.num {
					t.Errorf("numeric column 1: got %s; want %s", got, tc.num)
				}
				if got := strings.Join(cat, " "); got != tc.cat {
					t.Errorf("categorical column 0: got %s; want %s", got, tc.cat)
				}
				want := tc.predN
				if pt == Categorical {
					want = tc.predC
				}
				if preds != want {
					t.Errorf("%s predictions: got %s; want %s", pt, preds, want)
				}
				if c := d.Counters().Load(); c != [NumReasons]uint64{} {
					t.Errorf("invalid counts %v", c)
				}
			}
		})
	}
}

func TestDecodeBinaryBytesInPlace(t *testing.T) {
	x := strs("fr", "", "d\"e", "us")
	req, n := binBody(`{"inputs": [`+input("x", "BYTES", "[2, 2]", len(x))+`]}`, x)
	o := strs("cat", "dog")
	resp, m := binBody(`{"outputs": [`+input("o", "BYTES", "[2]", len(o))+`]}`, o)
	d, err := NewDecoder(OpenInferenceV2, []FeatureSpec{
		{Name: "a", Type: Categorical, Tensor: "x"},
		{Name: "b", Type: Categorical, Tensor: "x", Column: 1},
		{Name: "n", Type: Numeric, Tensor: "x"},
	}, &PredictionSpec{Type: Categorical}, DecoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.DecodeBinary(req, n, resp, m)
	if err != nil {
		t.Fatal(err)
	}
	rows, preds := showBatch(b)
	if got := strings.Join(rows, "|"); got != `"fr" "" !wrong_type|"d\"e" "us" !wrong_type` || preds != `"cat" "dog"` {
		t.Fatalf("got %s, %s", got, preds)
	}
	inBody := func(s, body []byte) bool {
		p, lo := uintptr(unsafe.Pointer(unsafe.SliceData(s))), uintptr(unsafe.Pointer(&body[0]))
		return p >= lo && p < lo+uintptr(len(body))
	}
	if !inBody(b.Row(1)[0].Str, req) || !inBody(b.Predictions[1].Str, resp) {
		t.Error("BYTES values are not read in place")
	}
}

// TestDecodeBinaryLayout: tensors take their bytes in order, tensors
// with JSON data take none, and features and the output are found by
// name.
func TestDecodeBinaryLayout(t *testing.T) {
	a := enc(t, "INT32", 10, 20)
	c := enc(t, "FP64", 0.5, 1.5, 2.5, 3.5, 4.5, 5.5)
	req, n := binBody(`{"id": "1", "inputs": [`+input("a", "INT32", "[2]", len(a))+`,
		{"name": "b", "datatype": "BYTES", "shape": [2], "data": ["x", "y"]},
		`+input("c", "FP64", "[2, 3]", len(c))+`], "outputs": [{"name": "s", "parameters": {"binary_data": true}}]}`, a, c)
	l := enc(t, "INT64", 7, 9)
	s := enc(t, "FP32", 0.1, 0.7, 0.2, 0.6, 0.3, 0.1)
	resp, m := binBody(`{"outputs": [`+input("label", "INT64", "[2, 1]", len(l))+`, `+input("s", "FP32", "[2, 3]", len(s))+`]}`, l, s)
	specs := []FeatureSpec{
		{Name: "c", Type: Numeric, Column: 2},
		{Name: "a", Type: Numeric},
		{Name: "b", Type: Categorical},
	}
	for _, tc := range []struct {
		pred  PredictionSpec
		preds string
	}{
		{PredictionSpec{Type: Categorical}, `"7" "9"`},
		{PredictionSpec{Type: Categorical, Output: "s"}, `"1" "0"`},
		{PredictionSpec{Type: Categorical, Output: "s", Labels: []string{"lo", "mid", "hi"}}, `"mid" "lo"`},
		{PredictionSpec{Type: Numeric, Output: "s"}, `0.699999988079071 0.6000000238418579`},
	} {
		d, err := NewDecoder(OpenInferenceV2, specs, &tc.pred, DecoderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := d.DecodeBinary(req, n, resp, m)
		if err != nil {
			t.Fatal(err)
		}
		rows, preds := showBatch(b)
		if got := strings.Join(rows, "|"); got != `2.5 10 "x"|5.5 20 "y"` || preds != tc.preds {
			t.Errorf("%+v: got %s, %s; want ..., %s", tc.pred, got, preds, tc.preds)
		}
	}
	// A JSON request and a binary response.
	d, _ := NewDecoder(OpenInferenceV2, []FeatureSpec{{Name: "a", Type: Numeric}}, &PredictionSpec{Type: Numeric}, DecoderOptions{})
	b, err := d.DecodeBinary([]byte(`{"inputs": [{"name": "a", "shape": [2], "datatype": "FP32", "data": [1, 2]}]}`), JSONBody, resp, m)
	if rows, preds := showBatch(b); err != nil || strings.Join(rows, "|") != "1|2" || preds != "7 9" {
		t.Errorf("JSON request, binary response: got %v, %s", rows, preds)
	}
	// The shadow's decoder reads the second output.
	rd, _ := NewResponseDecoder(OpenInferenceV2, PredictionSpec{Output: "s"}, DecoderOptions{})
	ps, err := rd.DecodeBinary(resp, m)
	if err != nil || len(ps) != 2 || ps[0].String() != "class 1 (score 0.7)" || ps[1].Class != 0 {
		t.Errorf("ResponseDecoder: got %v, %v", ps, err)
	}
}

func TestDecodeBinaryBadInput(t *testing.T) {
	x := enc(t, "FP32", 1, 2)
	good := `{"inputs": [` + input("x", "FP32", "[2]", 8) + `]}`
	bad := func(header string, raw ...[]byte) func() ([]byte, int) {
		return func() ([]byte, int) { return binBody(header, raw...) }
	}
	for _, tc := range []struct {
		name string
		body func() ([]byte, int)
		want Reason
	}{
		{"header length beyond the body", func() ([]byte, int) { b, _ := binBody(good, x); return b, len(b) + 1 }, ReasonBinarySize},
		{"header length unparsable", func() ([]byte, int) { b, _ := binBody(good, x); return b, BadHeaderLength }, ReasonBinarySize},
		{"header length negative", func() ([]byte, int) { b, _ := binBody(good, x); return b, -7 }, ReasonBinarySize},
		{"header length cuts the JSON", func() ([]byte, int) { b, n := binBody(good, x); return b, n - 2 }, ReasonMalformedJSON},
		{"binary_data_size beyond the body", bad(`{"inputs": [`+input("x", "FP32", "[2]", 12)+`]}`, x), ReasonBinarySize},
		{"second tensor beyond the body", bad(`{"inputs": [`+input("x", "FP32", "[2]", 8)+`, `+input("y", "FP32", "[2]", 8)+`]}`, x), ReasonBinarySize},
		{"bytes left over", bad(good, x, []byte{0}), ReasonBinarySize},
		{"size is not shape times element", bad(`{"inputs": [`+input("x", "FP32", "[3]", 8)+`]}`, x), ReasonBinarySize},
		{"size of a partial element", bad(`{"inputs": [`+input("x", "FP64", "[1]", 7)+`]}`, x[:7]), ReasonBinarySize},
		{"huge shape", bad(`{"inputs": [`+input("x", "FP64", "[2147483648, 2147483648]", 8)+`]}`, x), ReasonBinarySize},
		{"BYTES length overrun", bad(`{"inputs": [`+input("x", "BYTES", "[1]", 6)+`]}`, strs("abc")[:6]), ReasonBinarySize},
		{"BYTES length prefix cut", bad(`{"inputs": [`+input("x", "BYTES", "[2]", 9)+`]}`, strs("abc", "d")[:9]), ReasonBinarySize},
		{"BYTES bytes left over", bad(`{"inputs": [`+input("x", "BYTES", "[1]", 11)+`]}`, strs("abc", "")), ReasonBinarySize},
		{"binary_data_size negative", bad(`{"inputs": [`+input("x", "FP32", "[2]", -8)+`]}`, x), ReasonBinarySize},
		{"binary_data_size fractional", bad(`{"inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "parameters": {"binary_data_size": 7.5}}]}`, x), ReasonBinarySize},
		{"binary_data_size a string", bad(`{"inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "parameters": {"binary_data_size": "8"}}]}`, x), ReasonWrongType},
		{"unknown datatype", bad(`{"inputs": [`+input("x", "FP8", "[8]", 8)+`]}`, x), ReasonWrongType},
		{"no datatype", bad(`{"inputs": [{"name": "x", "shape": [2], "parameters": {"binary_data_size": 8}}]}`, x), ReasonWrongType},
		{"batch sizes differ", bad(`{"inputs": [`+input("x", "FP32", "[2]", 8)+`, `+input("y", "FP32", "[1]", 4)+`]}`, x, x[:4]), ReasonShapeMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewDecoder(OpenInferenceV2, []FeatureSpec{{Name: "x", Type: Numeric}}, nil, DecoderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			body, n := tc.body()
			b, err := d.DecodeBinary(body, n, nil, JSONBody)
			if r, ok := ReasonOf(err); !ok || r != tc.want || b.Rows != 0 {
				t.Fatalf("got %d rows, %v; want reason %s", b.Rows, err, tc.want)
			}
			var want [NumReasons]uint64
			want[tc.want] = 1
			if got := d.Counters().Load(); got != want {
				t.Errorf("counters %v; want %v", got, want)
			}
		})
	}
}

// TestDecodeBinaryBadValues: bad elements and a bad response are
// counted; the rows stay.
func TestDecodeBinaryBadValues(t *testing.T) {
	x := enc(t, "FP16", 1, 2)
	x = binary.LittleEndian.AppendUint16(x, 0x7e00) // NaN
	x = binary.LittleEndian.AppendUint16(x, 0xfc00) // -Inf
	bo := []byte{1, 2}                              // BOOL 2 is not a bool
	req, n := binBody(`{"inputs": [`+input("x", "FP16", "[2, 2]", len(x))+`, `+input("b", "BOOL", "[2]", 2)+`]}`, x, bo)
	specs := []FeatureSpec{{Name: "x", Type: Numeric}, {Name: "x1", Type: Categorical, Tensor: "x", Column: 1}, {Name: "b", Type: Numeric}}
	d, _ := NewDecoder(OpenInferenceV2, specs, &PredictionSpec{Type: Numeric}, DecoderOptions{})
	o := enc(t, "FP32", 1, 2, 3)
	resp, m := binBody(`{"outputs": [`+input("o", "FP32", "[2]", 12)+`]}`, o) // 12 is not 2×4
	b, err := d.DecodeBinary(req, n, resp, m)
	if err != nil {
		t.Fatal(err)
	}
	rows, preds := showBatch(b)
	if got := strings.Join(rows, "|"); got != `1 "2" 1|!nan_inf !nan_inf !wrong_type` || preds != "!binary_size !binary_size" {
		t.Errorf("got %s, %s", got, preds)
	}
	var want [NumReasons]uint64
	want[ReasonNaNInf], want[ReasonWrongType], want[ReasonBinarySize] = 2, 1, 1
	if got := d.Counters().Load(); got != want {
		t.Errorf("counters %v; want %v", got, want)
	}
	// An unparsable response header length.
	b, _ = d.DecodeBinary(req, n, resp, BadHeaderLength)
	if _, preds := showBatch(b); preds != "!binary_size !binary_size" {
		t.Errorf("bad response header: got %s", preds)
	}
	// Scores must be numbers, and NaN scores are invalid.
	for body, want := range map[string]string{
		`{"outputs": [` + input("o", "BYTES", "[1, 2]", 10) + `]}` + string(strs("a", "b")):                       "!wrong_type",
		`{"outputs": [` + input("o", "BOOL", "[1, 2]", 2) + `]}` + "\x00\x01":                                     "!wrong_type",
		`{"outputs": [` + input("o", "FP64", "[1, 0]", 0) + `]}`:                                                  "!wrong_type",
		`{"outputs": [` + input("o", "FP32", "[1, 2]", 8) + `]}` + string(enc(t, "FP32", 1)) + "\x00\x00\xc0\x7f": "!nan_inf",
		`{"outputs": [` + input("o", "FP32", "[1]", 4) + `]}` + "\x00\x00\x80\x7f":                                "!nan_inf",
	} {
		d, _ := NewDecoder(OpenInferenceV2, []FeatureSpec{{Name: "x", Type: Numeric}}, &PredictionSpec{Type: Numeric}, DecoderOptions{})
		req1, n1 := binBody(`{"inputs": [`+input("x", "FP16", "[1]", 2)+`]}`, x[:2])
		b, err := d.DecodeBinary(req1, n1, []byte(body), strings.Index(body, "]}")+2)
		if _, preds := showBatch(b); err != nil || preds != want {
			t.Errorf("%q: got %s, %v; want %s", body, preds, err, want)
		}
	}
}

// TestDecodeJSONIgnoresBinaryParameters: without a header length a body
// is JSON, and a tensor without data is the wrong shape of body, as
// before.
func TestDecodeJSONIgnoresBinaryParameters(t *testing.T) {
	d, _ := NewDecoder(OpenInferenceV2, []FeatureSpec{{Name: "x", Type: Numeric}}, nil, DecoderOptions{})
	body, _ := binBody(`{"inputs": [`+input("x", "FP32", "[2]", 8)+`]}`, nil)
	if _, err := d.Decode(body, nil); err != ErrWrongType {
		t.Errorf("got %v; want %v", err, ErrWrongType)
	}
}
