package soak

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

type series struct {
	name  string
	color color.RGBA
	get   func(Sample) float64
}

// PlotSVG draws four panels over time: memory, goroutines, open file
// descriptors, and queue lengths.
func (rep *Report) PlotSVG() ([]byte, error) {
	if len(rep.Samples) < 2 {
		return nil, errors.New("nothing to plot: fewer than 2 samples")
	}
	blue, red, green, purple := color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xd6, 0x27, 0x28, 0xff},
		color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, color.RGBA{0x94, 0x67, 0xbd, 0xff}
	panels := []struct {
		title, unit string
		series      []series
	}{
		{"memory", "MiB", []series{
			{"RSS", blue, func(s Sample) float64 { return float64(s.RSS) / (1 << 20) }},
			{"heap in use", red, func(s Sample) float64 { return s.Heap / (1 << 20) }},
		}},
		{"goroutines", "count", []series{{"goroutines", blue, func(s Sample) float64 { return s.Goroutines }}}},
		{"open file descriptors", "count", []series{{"fds", blue, func(s Sample) float64 { return float64(s.FDs) }}}},
		{"queues", "entries", []series{
			{"shadow queue", red, func(s Sample) float64 { return s.ShadowQueue }},
			{"shadow in flight", purple, func(s Sample) float64 { return s.ShadowInflight }},
			{"sampler queue", green, func(s Sample) float64 { return s.SamplerQueue }},
			{"client in flight", blue, func(s Sample) float64 { return float64(s.ClientInflight) }},
		}},
	}
	warmup := 0.0
	if d, err := time.ParseDuration(rep.Options.Warmup); err == nil {
		warmup = d.Seconds()
	}
	const width, rowHeight = 9 * vg.Inch, 2.6 * vg.Inch
	c, err := draw.NewFormattedCanvas(width, rowHeight*vg.Length(len(panels)), "svg")
	if err != nil {
		return nil, fmt.Errorf("cannot draw the soak plot: %w", err)
	}
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadX: vg.Points(4), PadY: vg.Points(8)}
	for i, pn := range panels {
		p := plot.New()
		p.Title.Text = pn.title
		p.Y.Label.Text = pn.unit
		p.Y.Min = 0
		if i == len(panels)-1 {
			p.X.Label.Text = "time since the traffic started (s)"
		}
		p.Add(plotter.NewGrid())
		p.Legend.Top = true
		p.Legend.Left = true
		top := 0.0
		for _, sr := range pn.series {
			pts := make(plotter.XYs, len(rep.Samples))
			for j, s := range rep.Samples {
				pts[j] = plotter.XY{X: s.At.Seconds(), Y: sr.get(s)}
				top = max(top, pts[j].Y)
			}
			l, err := plotter.NewLine(pts)
			if err != nil {
				return nil, fmt.Errorf("cannot plot %s: %w", sr.name, err)
			}
			l.Color, l.Width = sr.color, vg.Points(1.2)
			p.Add(l)
			p.Legend.Add(sr.name, l)
		}
		// Head room for the legend, above the data.
		p.Y.Max = max(1, top) * (1.15 + 0.12*float64(len(pn.series)))
		if warmup > 0 {
			edge, err := plotter.NewLine(plotter.XYs{{X: warmup, Y: 0}, {X: warmup, Y: p.Y.Max}})
			if err != nil {
				return nil, err
			}
			edge.Color, edge.Dashes = color.RGBA{0x77, 0x77, 0x77, 0xff}, []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(edge)
			if i == 0 {
				p.Legend.Add("end of warm-up", edge)
			}
		}
		p.Draw(tiles.At(dc, 0, i))
	}
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("cannot draw the soak plot: %w", err)
	}
	return b.Bytes(), nil
}
