package predlog

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/testutil"
)

// bigRecord is a record of about 10 KiB of incompressible body.
func bigRecord(i int) *Record {
	r := &Record{}
	fill(r, i)
	b := make([]byte, 7500)
	_, _ = rand.Read(b)
	r.SetRequestBody([]byte(base64.StdEncoding.EncodeToString(b)))
	return r
}

func writeBig(t *testing.T, s *FileSink, n int) {
	t.Helper()
	for i := 0; i < n; i += 20 {
		var batch []*Record
		for j := i; j < min(i+20, n); j++ {
			batch = append(batch, bigRecord(j))
		}
		if err := s.Write(context.Background(), batch); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
}

// linesOf reads the JSON lines of a file, gunzipping .gz.
func linesOf(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rd io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		rd = zr
	}
	var out []map[string]any
	sc := bufio.NewScanner(rd)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: line %d is not JSON: %v", path, len(out)+1, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

func TestFileSinkRotationAndCap(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "predictions.jsonl")
	const capBytes = 2500 << 10
	s, err := NewFileSink(FileOptions{Path: path, MaxSizeMB: 1, MaxTotalBytes: capBytes})
	if err != nil {
		t.Fatal(err)
	}
	writeBig(t, s, 800) // about 8 MiB: seven rotations
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	backups, err := s.backups()
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, b := range backups {
		total += b.size
		if b.size > 1<<20 {
			t.Errorf("%s: %d bytes; want <= 1 MiB", b.path, b.size)
		}
	}
	if total > capBytes {
		t.Errorf("rotated files hold %d bytes; want <= %d", total, capBytes)
	}
	if len(backups) != 2 {
		t.Errorf("%d rotated files; want 2 (three 1 MiB files do not fit the 2.5 MiB cap)", len(backups))
	}
	// The newest lines survive, in order, ending with the last record.
	var ids []string
	for _, b := range backups {
		for _, m := range linesOf(t, b.path) {
			ids = append(ids, m["request_id"].(string))
		}
	}
	for _, m := range linesOf(t, path) {
		ids = append(ids, m["request_id"].(string))
	}
	if ids[len(ids)-1] != "req-000799" {
		t.Errorf("last line %s; want req-000799", ids[len(ids)-1])
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("line %d: %s after %s; want increasing ids", i, ids[i], ids[i-1])
		}
	}
}

func TestFileSinkCompressAndBackups(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log", "predictions.jsonl")
	s, err := NewFileSink(FileOptions{Path: path, MaxSizeMB: 1, MaxBackups: 3, Compress: true, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	writeBig(t, s, 600)
	// lumberjack compresses and prunes in its own goroutine.
	testutil.Eventually(t, 20*time.Second, "three gzipped backups and nothing else", func() bool {
		files, err := s.backups()
		if err != nil || len(files) != 3 {
			return false
		}
		for _, f := range files {
			if !strings.HasSuffix(f.path, ".jsonl.gz") {
				return false
			}
		}
		return true
	})
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	files, _ := s.backups()
	n := len(linesOf(t, path))
	for _, f := range files {
		lines := linesOf(t, f.path)
		if len(lines) < 50 {
			t.Errorf("%s: %d lines; want a full file's", f.path, len(lines))
		}
		n += len(lines)
	}
	if n >= 600 || n < 300 {
		t.Errorf("%d lines kept; want the last 3 backups and the active file of 600", n)
	}
}

func TestFileSinkInLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.jsonl")
	s, err := NewFileSink(FileOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	l, m := newTestLog(t, SinkSpec{Name: "local", Sink: s})
	for i := range 1000 {
		r := l.Acquire()
		fill(r, i)
		l.Offer(r)
	}
	if err := closeLog(t, l, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if c := readCounts(m, "local"); c.written != 1000 {
		t.Errorf("written %v; want 1000", c.written)
	}
	lines := linesOf(t, path)
	if len(lines) != 1000 {
		t.Fatalf("%d lines; want 1000", len(lines))
	}
	want := &Record{}
	fill(want, 999)
	var exp map[string]any
	_ = json.Unmarshal(want.AppendJSON(nil), &exp)
	if !jsonEqual(lines[999], exp) {
		t.Errorf("last line %v; want %v", lines[999], exp)
	}
}

func TestFileSinkUnwritable(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileSink(FileOptions{Path: filepath.Join(dir, "file", "p.jsonl")}); err == nil {
		t.Fatalf("NewFileSink under a file: nil; want an error")
	}
	for _, tc := range []struct {
		o    FileOptions
		want string
	}{
		{FileOptions{}, "path: required"},
		{FileOptions{Path: "/var/log/"}, "path: "},
		{FileOptions{Path: "p", MaxSizeMB: -1}, "max_size_mb: "},
		{FileOptions{Path: "p", MaxTotalBytes: -1}, "max_total_bytes: "},
	} {
		if err := tc.o.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v; want %q", tc.o, err, tc.want)
		}
	}
}
