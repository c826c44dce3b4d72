package predlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
)

// FileOptions configure a file sink: JSON Lines with rotation.
type FileOptions struct {
	// Path is the active file; rotated files sit next to it as
	// NAME-TIMESTAMP.EXT, with .gz when compressed.
	Path string
	// MaxSizeMB rotates the file when it would pass this many megabytes
	// (default 100).
	MaxSizeMB int
	// MaxAge deletes rotated files older than this, rounded up to whole
	// days; 0 keeps them.
	MaxAge time.Duration
	// MaxBackups is how many rotated files are kept; 0 keeps all.
	MaxBackups int
	// Compress gzips rotated files.
	Compress bool
	// MaxTotalBytes caps the bytes of all rotated files together; the
	// oldest are deleted after a rotation. 0 means no cap.
	MaxTotalBytes int64
	// LocalTime names rotated files in local time instead of UTC.
	LocalTime bool
}

// Validate checks o; errors name the field.
func (o FileOptions) Validate() error {
	var errs []error
	if o.Path == "" {
		errs = append(errs, errors.New("path: required"))
	} else if strings.HasSuffix(o.Path, string(filepath.Separator)) {
		errs = append(errs, fmt.Errorf("path: %q is a directory, want a file", o.Path))
	}
	if o.MaxSizeMB < 0 {
		errs = append(errs, fmt.Errorf("max_size_mb: must be >= 0, got %d", o.MaxSizeMB))
	}
	if o.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("max_age: must be >= 0, got %s", o.MaxAge))
	}
	if o.MaxBackups < 0 {
		errs = append(errs, fmt.Errorf("max_backups: must be >= 0, got %d", o.MaxBackups))
	}
	if o.MaxTotalBytes < 0 {
		errs = append(errs, fmt.Errorf("max_total_bytes: must be >= 0, got %d", o.MaxTotalBytes))
	}
	return errors.Join(errs...)
}

// FileSink writes records as JSON Lines through lumberjack.
type FileSink struct {
	opts    FileOptions
	lj      *lumberjack.Logger
	maxSize int64

	mu        sync.Mutex // serializes writes
	buf       []byte
	sinceTrim int64
	state     sinkState
}

var _ Sink = (*FileSink)(nil)

// NewFileSink creates the file's directory and returns the sink; the file
// opens on the first write.
func NewFileSink(o FileOptions) (*FileSink, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.MaxSizeMB == 0 {
		o.MaxSizeMB = 100
	}
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o755); err != nil {
		return nil, fmt.Errorf("cannot create log directory: %w", err)
	}
	days := 0
	if o.MaxAge > 0 {
		days = int((o.MaxAge + 24*time.Hour - 1) / (24 * time.Hour))
	}
	s := &FileSink{
		opts:    o,
		maxSize: int64(o.MaxSizeMB) << 20,
		lj: &lumberjack.Logger{
			Filename:   o.Path,
			MaxSize:    o.MaxSizeMB,
			MaxAge:     days,
			MaxBackups: o.MaxBackups,
			Compress:   o.Compress,
			LocalTime:  o.LocalTime,
		},
	}
	return s, nil
}

// Write appends batch, one JSON object per line.
func (s *FileSink) Write(_ context.Context, batch []*Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.write(batch)
	s.state.set(err)
	return err
}

func (s *FileSink) write(batch []*Record) error {
	s.buf = s.buf[:0]
	for _, r := range batch {
		n := len(s.buf)
		s.buf = r.AppendJSON(s.buf)
		s.buf = append(s.buf, '\n')
		// lumberjack refuses one write larger than a file: flush before.
		if int64(len(s.buf)) > s.maxSize && n > 0 {
			if err := s.flush(s.buf[:n]); err != nil {
				return err
			}
			s.buf = append(s.buf[:0], s.buf[n:]...)
		}
	}
	return s.flush(s.buf)
}

func (s *FileSink) flush(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := s.lj.Write(b); err != nil {
		return fmt.Errorf("cannot write %s: %w", s.opts.Path, err)
	}
	s.sinceTrim += int64(len(b))
	// A rotation happens at most once per maxSize bytes written.
	if s.opts.MaxTotalBytes > 0 && s.sinceTrim >= s.maxSize/4 {
		s.sinceTrim = 0
		if err := s.trimBackups(); err != nil {
			return err
		}
	}
	return nil
}

type backupFile struct {
	path string
	ts   time.Time
	size int64
}

// backups lists the rotated files, oldest first.
func (s *FileSink) backups() ([]backupFile, error) {
	dir := filepath.Dir(s.opts.Path)
	base := filepath.Base(s.opts.Path)
	ext := filepath.Ext(base)
	prefix := base[:len(base)-len(ext)] + "-"
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot list rotated logs: %w", err)
	}
	var out []backupFile
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, prefix) {
			continue
		}
		rest := strings.TrimSuffix(name[len(prefix):], ".gz")
		if !strings.HasSuffix(rest, ext) {
			continue
		}
		ts, err := time.Parse("2006-01-02T15-04-05.000", rest[:len(rest)-len(ext)])
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, backupFile{filepath.Join(dir, name), ts, info.Size()})
	}
	slices.SortFunc(out, func(a, b backupFile) int {
		if c := a.ts.Compare(b.ts); c != 0 {
			return c
		}
		return strings.Compare(a.path, b.path)
	})
	return out, nil
}

// trimBackups deletes the oldest rotated files until they fit
// MaxTotalBytes.
func (s *FileSink) trimBackups() error {
	files, err := s.backups()
	if err != nil {
		return err
	}
	var total int64
	for _, f := range files {
		total += f.size
	}
	for _, f := range files {
		if total <= s.opts.MaxTotalBytes {
			break
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("cannot delete rotated log: %w", err)
		}
		total -= f.size
	}
	return nil
}

// Ready reports the last write's error.
func (s *FileSink) Ready() error { return s.state.get() }

// Close closes the file and applies the byte cap once more.
func (s *FileSink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.lj.Close()
	if s.opts.MaxTotalBytes > 0 {
		err = errors.Join(err, s.trimBackups())
	}
	return err
}

// sinkState holds a sink's last error for Ready.
type sinkState struct {
	mu  sync.Mutex
	err error
}

func (st *sinkState) set(err error) {
	st.mu.Lock()
	st.err = err
	st.mu.Unlock()
}

func (st *sinkState) get() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.err
}
