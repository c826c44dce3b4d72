package groundtruth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// wireItem is one item as sent.
type wireItem struct {
	RequestID string          `json:"request_id"`
	Row       int             `json:"row"`
	Label     json.RawMessage `json:"label"`
	Time      *string         `json:"time"`
}

// decodeItem reads one item object; a failure is kept in the item for
// Apply to count. The item's Label aliases raw.
func decodeItem(raw []byte) Item {
	var w wireItem
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return Item{decodeErr: typeError(typeErr)}
		}
		return Item{decodeErr: fmt.Errorf("item: %w", err)}
	}
	it := Item{RequestID: w.RequestID, Row: w.Row, Label: w.Label}
	if w.Time != nil {
		t, err := time.Parse(time.RFC3339Nano, *w.Time)
		if err != nil {
			return Item{decodeErr: fmt.Errorf("time: must be RFC 3339: %w", err)}
		}
		it.Time = t
	}
	return it
}

// decodeJSONBody reads {"items": [...]}. An error is in the framing and
// names its offset; the items' own errors are kept in them.
func decodeJSONBody(body []byte) ([]Item, error) {
	var batch struct {
		Items *[]json.RawMessage `json:"items"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&batch); err != nil {
		return nil, framingError(err, dec.InputOffset())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("offset %d: data after the top-level object", dec.InputOffset())
	}
	if batch.Items == nil {
		return nil, errors.New(`items: required, as {"items": [...]}`)
	}
	items := make([]Item, len(*batch.Items))
	for i, raw := range *batch.Items {
		items[i] = decodeItem(raw)
	}
	return items, nil
}

// decodeNDJSON reads one item object a line; blank lines are skipped
// and are not items. An error is in the framing and names its line.
func decodeNDJSON(body []byte) ([]Item, error) {
	items := make([]Item, 0, bytes.Count(body, []byte{'\n'})+1)
	for n := 1; len(body) > 0; n++ {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			var v json.RawMessage
			err := json.Unmarshal(line, &v)
			var syn *json.SyntaxError
			if errors.As(err, &syn) {
				return nil, fmt.Errorf("line %d, offset %d: %w", n, syn.Offset, err)
			}
			return nil, fmt.Errorf("line %d: not one JSON value", n)
		}
		items = append(items, decodeItem(line))
	}
	return items, nil
}

// typeError names the field of a JSON value of the wrong type.
func typeError(e *json.UnmarshalTypeError) error {
	switch e.Field {
	case "":
		return fmt.Errorf("item: must be an object, got a JSON %s", e.Value)
	case "row":
		return fmt.Errorf("row: must be an integer, got a JSON %s", e.Value)
	}
	return fmt.Errorf("%s: must be a string, got a JSON %s", e.Field, e.Value)
}

// framingError names the offset of a body-level decode error.
func framingError(err error, offset int64) error {
	var syn *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("offset %d: %w", syn.Offset, err)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return fmt.Errorf("offset %d: body: must be an object, got a JSON %s", typeErr.Offset, typeErr.Value)
	case errors.As(err, &typeErr):
		return fmt.Errorf("offset %d: %s: must be an array, got a JSON %s", typeErr.Offset, typeErr.Field, typeErr.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("offset %d: body ends before the JSON does", offset)
	}
	return fmt.Errorf("offset %d: %w", offset, err)
}
