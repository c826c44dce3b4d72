package sketch

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/driftcar/driftcar/internal/payload"
)

// synthReader generates a deterministic CSV of at least size bytes: 10
// numeric columns (normal, log-normal, a point mass at 0, integers) and 3
// categorical ones (one with quoted commas). Seek(0, io.SeekStart) starts
// it over, so BuildReference can take a second pass.
type synthReader struct {
	size, n int64
	rng     *rand.Rand
	buf     []byte
	off     int
	rows    int64
}

func newSynthReader(size int64) *synthReader {
	r := &synthReader{size: size}
	r.reset()
	return r
}

func (r *synthReader) reset() {
	r.rng = rand.New(rand.NewPCG(42, 4242))
	r.n, r.off, r.rows = 0, 0, 0
	r.buf = append(r.buf[:0], "n0,n1,n2,n3,n4,n5,n6,n7,n8,n9,city,plan,device\n"...)
}

var synthCities = []string{"Paris", "\"Portland, OR\"", "Berlin", "\"Austin, TX\"", "Lagos", "Osaka", "Lima"}

func (r *synthReader) fill() {
	r.buf = r.buf[:0]
	r.off = 0
	for len(r.buf) < 64<<10 && r.n+int64(len(r.buf)) < r.size {
		g := r.rng
		for i := 0; i < 10; i++ {
			var x float64
			switch i % 4 {
			case 0:
				x = g.NormFloat64()*10 + 50
			case 1:
				x = g.ExpFloat64() * 100
			case 2:
				if g.IntN(3) == 0 {
					x = 0
				} else {
					x = g.NormFloat64()
				}
			case 3:
				x = float64(g.IntN(1000))
			}
			if g.IntN(200) == 0 {
				r.buf = append(r.buf, ',') // missing
				continue
			}
			r.buf = strconv.AppendFloat(r.buf, x, 'f', 3, 64)
			r.buf = append(r.buf, ',')
		}
		r.buf = append(r.buf, synthCities[g.IntN(len(synthCities))]...)
		r.buf = append(r.buf, ",plan-"...)
		r.buf = strconv.AppendInt(r.buf, int64(g.IntN(20)), 10)
		r.buf = append(r.buf, ",dev-"...)
		r.buf = strconv.AppendInt(r.buf, int64(g.IntN(5000)), 10)
		r.buf = append(r.buf, '\n')
		r.rows++
	}
}

func (r *synthReader) Read(p []byte) (int, error) {
	if r.off == len(r.buf) {
		if r.n >= r.size {
			return 0, io.EOF
		}
		r.fill()
		if len(r.buf) == 0 {
			return 0, io.EOF
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	r.n += int64(n)
	return n, nil
}

func (r *synthReader) Seek(off int64, whence int) (int64, error) {
	switch {
	case off == 0 && whence == io.SeekStart:
		r.reset()
		return 0, nil
	case off == 0 && whence == io.SeekCurrent:
		return r.n, nil
	}
	return 0, errors.New("synthReader: only rewinds")
}

// peakRSS returns VmHWM, the peak resident set size of this process.
func peakRSS(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmHWM")
	return 0
}

// TestBuildReferenceLargeCSV builds a reference from a generated CSV of
// about 1 GiB (DRIFTCAR_BIG_CSV=1, or a size in bytes) and checks that the
// peak RSS stays under 512 MiB. It is off by default because it takes
// minutes:
//
//	DRIFTCAR_BIG_CSV=1 go test -run LargeCSV -v -timeout 30m ./sampler/
func TestBuildReferenceLargeCSV(t *testing.T) {
	env := os.Getenv("DRIFTCAR_BIG_CSV")
	if env == "" || testing.Short() {
		t.Skip("set DRIFTCAR_BIG_CSV=1 (1 GiB) or a size in bytes to run")
	}
	size := int64(1 << 30)
	if n, err := strconv.ParseInt(env, 10, 64); err == nil && n > 1 {
		size = n
	}
	var specs []payload.FeatureSpec
	for i := 0; i < 10; i++ {
		specs = append(specs, payload.FeatureSpec{Name: fmt.Sprintf("n%d", i), Type: payload.Numeric})
	}
	specs = append(specs, payload.FeatureSpec{Name: "city", Type: payload.Categorical}, payload.FeatureSpec{Name: "plan", Type: payload.Categorical}, payload.FeatureSpec{Name: "device", Type: payload.Categorical})
	var budget int64 // 0: the default exact budget
	if n, err := strconv.ParseInt(os.Getenv("DRIFTCAR_BIG_CSV_BUDGET"), 10, 64); err == nil {
		budget = n
	}
	r := newSynthReader(size)
	start := time.Now()
	lastReport := time.Now()
	var total int64
	p, err := BuildReference(r, CSV, specs, BuildOptions{ExactBudget: budget, Progress: func(n int64) {
		total = n
		if time.Since(lastReport) > 10*time.Second {
			t.Logf("read %d MiB", n>>20)
			lastReport = time.Now()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	rss := peakRSS(t)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%d MiB CSV, %d rows, %d MiB read in %v (%.0f MiB/s); peak RSS (VmHWM) %d MiB; heap sys %d MiB",
		size>>20, p.Rows, total>>20, elapsed.Round(time.Second), float64(total)/(1<<20)/elapsed.Seconds(), rss>>20, ms.HeapSys>>20)
	for _, f := range p.Features[:4] {
		t.Logf("%s: method %s rank error %.5f, %d edges, point masses %v", f.Name, f.Method, f.RankError, len(f.Edges), f.PointMasses)
	}
	ceiling := int64(512 << 20)
	if n, err := strconv.ParseInt(os.Getenv("DRIFTCAR_BIG_CSV_RSS"), 10, 64); err == nil {
		ceiling = n
	}
	if rss > ceiling {
		t.Errorf("peak RSS %d MiB; want <= %d MiB", rss>>20, ceiling>>20)
	}
	// 10 numeric columns of 8 bytes per value reach the default exact
	// budget (128 MiB) at about 1.7M rows, some 190 MiB of this CSV.
	sketched := size >= 256<<20 || (budget > 0 && size >= 8*budget)
	if f := p.Feature("n0"); sketched && f.Method != "sketch" || f.Count < p.Rows*9/10 {
		t.Errorf("n0: method %s count %d of %d rows", f.Method, f.Count, p.Rows)
	}
	if f := p.Feature("city"); len(f.Categories) != len(synthCities) || !strings.Contains(fmt.Sprint(f.Categories), "Portland, OR") {
		t.Errorf("city categories %+v", f.Categories)
	}
	if f := p.Feature("n2"); len(f.PointMasses) != 1 || f.PointMasses[0] != 0 {
		t.Errorf("n2 point masses %v; want [0]", f.PointMasses)
	}
}

// TestBuildReferenceSketchInChild runs TestBuildReferenceLargeCSV in a
// child process on a 48 MiB CSV with a 2 MiB exact budget, so the
// quantile-sketch path runs on every `make test` and the child's own peak
// RSS is checked against a 192 MiB ceiling.
func TestBuildReferenceSketchInChild(t *testing.T) {
	if testing.Short() || os.Getenv("DRIFTCAR_BIG_CSV") != "" {
		t.Skip("short mode, or already the child")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBuildReferenceLargeCSV$", "-test.v")
	cmd.Env = append(os.Environ(), "DRIFTCAR_BIG_CSV=50331648", "DRIFTCAR_BIG_CSV_BUDGET=2097152", "DRIFTCAR_BIG_CSV_RSS=201326592")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestBuildReferenceLargeCSV") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "method sketch") {
		t.Errorf("the child did not take the sketch path:\n%s", out)
	}
	t.Logf("%s", out)
}
