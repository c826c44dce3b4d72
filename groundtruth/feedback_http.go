package groundtruth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"go.uber.org/zap"
)

// ServeHTTP is POST /api/v1/feedback: a JSON {"items": [...]} body or
// NDJSON, one item a line. It answers 200 with the Answer, 400 when the
// body is not JSON, 405, 413 past MaxBody and 415 for other types.
func (f *Feedback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		f.fail(w, http.StatusMethodNotAllowed, "method: use POST")
		return
	}
	decode, err := bodyDecoder(r.Header.Get("Content-Type"))
	if err != nil {
		f.fail(w, http.StatusUnsupportedMediaType, err.Error())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, f.maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		f.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: over the %d-byte limit (max_body)", tooLarge.Limit))
		return
	case err != nil:
		f.fail(w, http.StatusBadRequest, fmt.Sprintf("body: cannot read: %v", err))
		return
	}
	items, err := decode(body)
	if err != nil {
		f.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	a := f.Apply(items)
	if a.Invalid == nil {
		a.Invalid = []InvalidItem{}
	}
	f.reply(w, http.StatusOK, a)
}

func bodyDecoder(contentType string) (func([]byte) ([]Item, error), error) {
	if contentType == "" {
		return decodeJSONBody, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("content-type: cannot parse %q: %w", contentType, err)
	}
	switch mt {
	case "application/json":
		return decodeJSONBody, nil
	case "application/x-ndjson", "application/jsonl":
		return decodeNDJSON, nil
	}
	return nil, fmt.Errorf("content-type: %q, want application/json or application/x-ndjson", mt)
}

func (f *Feedback) fail(w http.ResponseWriter, status int, msg string) {
	f.reply(w, status, struct {
		Error string `json:"error"`
	}{msg})
}

func (f *Feedback) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.log.Debug("cannot write feedback answer", zap.Error(err))
	}
}
