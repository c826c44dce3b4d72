package sketch

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/driftcar/driftcar/internal/payload"
)

func seekerPos(r io.Reader) (int64, bool) {
	s, ok := r.(io.Seeker)
	if !ok {
		return -1, false
	}
	pos, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return -1, false
	}
	return pos, true
}

type countingReader struct {
	r     io.Reader
	n     int64
	base  int64
	next  int64
	every int64
	fn    func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.fn != nil && c.n >= c.next {
		c.fn(c.base + c.n)
		c.next = c.n + c.every
	}
	return n, err
}

func (c *countingReader) report() {
	if c.fn != nil {
		c.fn(c.base + c.n)
	}
}

// read parses the input and feeds the accumulators.
func (b *builder) read(r io.Reader, format InputFormat, second bool) error {
	switch format {
	case CSV:
		return b.readCSV(r, second)
	case PredictionLog:
		return b.readLog(r, second)
	}
	return b.readJSONL(r, second)
}

func (b *builder) readCSV(r io.Reader, second bool) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return errors.New("cannot build reference: csv: empty input, want a header row")
	}
	if err != nil {
		return fmt.Errorf("cannot build reference: csv: %w", err)
	}
	cols := make([]int, len(b.accs))
	for i, a := range b.accs {
		if cols[i] = csvColumn(header, a.name); cols[i] < 0 {
			return fmt.Errorf("cannot build reference: csv: no column %q in the header", a.name)
		}
	}
	labelCol := -1
	if b.perf != nil {
		if labelCol = csvColumn(header, b.perf.spec.Column); labelCol < 0 {
			return fmt.Errorf("cannot build reference: csv: no label column %q in the header", b.perf.spec.Column)
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot build reference: csv: %w", err)
		}
		if second {
			b.rows2++
		} else {
			b.rows++
		}
		for i, a := range b.accs {
			b.addString(a, rec[cols[i]])
		}
		if labelCol >= 0 {
			b.addOutcome(rec[cols[len(cols)-1]], rec[labelCol])
		}
	}
}

// csvColumn returns the index of the column name in header, or -1.
func csvColumn(header []string, name string) int {
	for j, h := range header {
		if strings.TrimSpace(h) == name || j == 0 && strings.TrimPrefix(h, "\ufeff") == name {
			return j
		}
	}
	return -1
}

func (b *builder) readJSONL(r io.Reader, second bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	paths := make([]string, len(b.accs), len(b.accs)+1)
	for i, a := range b.accs {
		paths[i] = payload.KeyPath(a.name)
	}
	if b.perf != nil {
		paths = append(paths, payload.KeyPath(b.perf.spec.Column))
	}
	rec, err := payload.NewRecord(paths)
	if err != nil {
		return fmt.Errorf("cannot build reference: %w", err)
	}
	line := 0
	for sc.Scan() {
		line++
		buf := sc.Bytes()
		if len(strings.TrimSpace(string(buf))) == 0 {
			continue
		}
		switch err := rec.Parse(buf); {
		case errors.Is(err, payload.ErrMalformedJSON):
			return fmt.Errorf("cannot build reference: jsonl: line %d: malformed json", line)
		case errors.Is(err, payload.ErrTooDeep):
			return fmt.Errorf("cannot build reference: jsonl: line %d: nested too deep", line)
		case err != nil:
			return fmt.Errorf("cannot build reference: jsonl: line %d: not an object", line)
		}
		if second {
			b.rows2++
		} else {
			b.rows++
		}
		for i, a := range b.accs {
			b.addField(a, rec.Field(i))
		}
		if b.perf != nil {
			b.addOutcomeFields(rec.Field(len(b.accs)-1), rec.Field(len(b.accs)))
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cannot build reference: jsonl: line %d: %w", line+1, err)
	}
	if b.perf != nil && !b.perf.present && b.rows > 0 {
		return fmt.Errorf("cannot build reference: jsonl: no row has the label field %q", b.perf.spec.Column)
	}
	return nil
}

// logRecord is what a reference reads of a prediction-log record.
type logRecord struct {
	Status     int                          `json:"status"`
	Arm        string                       `json:"arm"`
	Features   []map[string]json.RawMessage `json:"features"`
	Prediction []json.RawMessage            `json:"prediction"`
}

// readLog reads prediction-log records: each row of a record is one
// reference row, its features and, under the prediction's name, its
// prediction.
func (b *builder) readLog(r io.Reader, second bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	paths := make([]string, len(b.accs))
	for i, a := range b.accs {
		paths[i] = payload.KeyPath(a.name)
	}
	rec, err := payload.NewRecord(paths)
	if err != nil {
		return fmt.Errorf("cannot build reference: %w", err)
	}
	predName := ""
	if p := b.opts.Prediction; p != nil {
		predName = p.EffectiveName()
	}
	var row []byte
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var lr logRecord
		if err := json.Unmarshal(sc.Bytes(), &lr); err != nil {
			return fmt.Errorf("cannot build reference: log: line %d: not a prediction-log record: %w", line, err)
		}
		if lr.Status < 200 || lr.Status > 299 || b.opts.Arm != "" && lr.Arm != b.opts.Arm {
			continue
		}
		if lr.Features == nil {
			return fmt.Errorf("cannot build reference: log: line %d: the record has no features (was the log written with features decoded?)", line)
		}
		for i, fs := range lr.Features {
			row = append(row[:0], '{')
			for k, v := range fs {
				if len(row) > 1 {
					row = append(row, ',')
				}
				row = strconv.AppendQuote(row, k)
				row = append(row, ':')
				row = append(row, v...)
			}
			if predName != "" && i < len(lr.Prediction) {
				if len(row) > 1 {
					row = append(row, ',')
				}
				row = strconv.AppendQuote(row, predName)
				row = append(row, ':')
				row = append(row, lr.Prediction[i]...)
			}
			row = append(row, '}')
			if err := rec.Parse(row); err != nil {
				return fmt.Errorf("cannot build reference: log: line %d: row %d: %w", line, i, err)
			}
			if second {
				b.rows2++
			} else {
				b.rows++
			}
			for j, a := range b.accs {
				b.addField(a, rec.Field(j))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cannot build reference: log: line %d: %w", line+1, err)
	}
	return nil
}

// addString records a textual value (CSV field, JSONL string).
func (b *builder) addString(a *acc, s string) {
	if b.missing[s] {
		b.addMissing(a)
		return
	}
	if a.typ == payload.Categorical {
		b.addCat(a, s)
		return
	}
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !isFinite(x) {
		b.addInvalid(a)
		return
	}
	b.addNum(a, x)
}

// addField records one JSON value.
func (b *builder) addField(a *acc, f payload.Field) {
	switch f.Kind {
	case payload.FieldAbsent, payload.FieldNull:
		b.addMissing(a)
	case payload.FieldNumber:
		switch {
		case a.typ == payload.Categorical:
			b.addCat(a, string(f.Text))
		case f.Finite:
			b.addNum(a, f.Num)
		default:
			b.addInvalid(a)
		}
	case payload.FieldTrue, payload.FieldFalse:
		switch {
		case a.typ == payload.Categorical:
			b.addCat(a, string(f.Text))
		case f.Kind == payload.FieldTrue:
			b.addNum(a, 1)
		default:
			b.addNum(a, 0)
		}
	case payload.FieldString:
		b.addString(a, string(f.Text))
	default:
		b.addInvalid(a)
	}
}

// addValue records a decoded live value (learn mode).
func (b *builder) addValue(a *acc, v *payload.Value) {
	switch v.Kind {
	case payload.ValueMissing:
		b.addMissing(a)
	case payload.ValueInvalid:
		b.addInvalid(a)
	case payload.ValueNumber:
		if a.typ == payload.Numeric {
			b.addNum(a, v.Num)
		} else {
			b.addCat(a, strconv.FormatFloat(v.Num, 'g', -1, 64))
		}
	case payload.ValueString:
		if a.typ == payload.Categorical {
			b.addCat(a, string(v.Str))
		} else {
			b.addInvalid(a)
		}
	}
}
