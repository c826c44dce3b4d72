package groundtruth

import (
	"testing"
)

// FuzzFeedbackDecode: any body either is refused whole or has every item
// accounted for exactly once, and never panics.
func FuzzFeedbackDecode(f *testing.F) {
	for _, seed := range []string{
		`{"items":[{"request_id":"a","label":1},{"request_id":"b","row":2,"label":0,"time":"2026-01-01T00:00:00Z"}]}`,
		`{"items":[{"request_id":"a","label":"x"},7,null,{"extra":1}]}`,
		"{\"request_id\":\"a\",\"label\":1}\n{\"request_id\":\"b\"}\n",
		`{"items":`, `[]`, ``,
	} {
		f.Add(seed, len(seed) > 0 && seed[len(seed)-1] == '\n')
	}
	fx := newFeedbackFixture(f, 64, FeedbackOptions{MaxRows: 4})
	fx.table.PutLive([]byte("a"), 0, 0, preds(2))
	f.Fuzz(func(t *testing.T, body string, ndjson bool) {
		decode := decodeJSONBody
		if ndjson {
			decode = decodeNDJSON
		}
		items, err := decode([]byte(body))
		if err != nil {
			return
		}
		a := fx.fb.Apply(items)
		if n := a.Joined + a.Unmatched + a.Expired + a.Duplicate + len(a.Invalid) + a.InvalidOmitted; n != len(items) {
			t.Fatalf("%d items, %d accounted: %+v", len(items), n, a)
		}
	})
}
