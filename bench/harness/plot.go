package harness

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// scenarioStyle gives every scenario a fixed colour and dash, so plots of
// different runs read the same: driftcar solid, peers dashed, direct
// dotted.
func scenarioStyle(name string) (color.Color, []vg.Length, draw.GlyphDrawer) {
	palette := map[string]color.RGBA{
		Direct:             {0x55, 0x55, 0x55, 0xff},
		Driftcar:           {0x1f, 0x77, 0xb4, 0xff},
		DriftcarSample:     {0x2c, 0xa0, 0x2c, 0xff},
		DriftcarShadow:     {0xd6, 0x27, 0x28, 0xff},
		DriftcarAll:        {0x94, 0x67, 0xbd, 0xff},
		DriftcarSlowShadow: {0xff, 0x7f, 0x0e, 0xff},
		Nginx:              {0x1f, 0x77, 0xb4, 0xff},
		NginxMirror:        {0xd6, 0x27, 0x28, 0xff},
		NginxSlowMirror:    {0xff, 0x7f, 0x0e, 0xff},
		HTTPUtil:           {0x8c, 0x56, 0x4b, 0xff},
	}
	c, ok := palette[name]
	if !ok {
		c = color.RGBA{0, 0, 0, 0xff}
	}
	switch info, _ := scenarioInfo(name); info.Kind {
	case KindPeer:
		return c, []vg.Length{vg.Points(5), vg.Points(3)}, draw.BoxGlyph{}
	case KindDirect:
		return c, []vg.Length{vg.Points(1), vg.Points(3)}, draw.CrossGlyph{}
	}
	return c, nil, draw.CircleGlyph{}
}

// PlotImage draws p99 latency against the offered open-loop rate, one line per
// scenario, on a log latency axis; saturated points are left out. format
// is "svg" or "png".
func (rep *Report) PlotImage(format string) ([]byte, error) {
	p := plot.New()
	p.Title.Text = "driftcar-bench proxy: p99 latency vs offered load"
	p.X.Label.Text = "offered rate (requests/s, open loop)"
	p.Y.Label.Text = "p99 latency (ms, from intended send time)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	legend := plot.NewLegend()
	legend.Top = true
	legend.Left = true
	lines := 0
	for _, s := range rep.Scenarios {
		if s.Skipped != "" {
			continue
		}
		var pts plotter.XYs
		for _, pt := range s.Sweep {
			if pt.Skipped != "" || pt.Saturated || pt.Latency.P99 <= 0 || math.IsNaN(pt.Latency.P99) {
				continue
			}
			pts = append(pts, plotter.XY{X: pt.Offered, Y: pt.Latency.P99})
		}
		if len(pts) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, fmt.Errorf("cannot plot %s: %w", s.Name, err)
		}
		c, dashes, glyph := scenarioStyle(s.Name)
		l.Color, l.Dashes, l.Width = c, dashes, vg.Points(1.5)
		sc.Color, sc.Shape, sc.Radius = c, glyph, vg.Points(2.5)
		p.Add(l, sc)
		legend.Add(s.Name, l, sc)
		lines++
	}
	if lines == 0 {
		return nil, errors.New("nothing to plot: no unsaturated open-loop point")
	}
	// The legend gets its own strip on the right, off the data.
	const width, height, legendWidth = 9.5 * vg.Inch, 5 * vg.Inch, 2.2 * vg.Inch
	c, err := draw.NewFormattedCanvas(width, height, format)
	if err != nil {
		return nil, fmt.Errorf("cannot draw the plot: %w", err)
	}
	dc := draw.New(c)
	p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
	legend.Draw(draw.Crop(dc, width-legendWidth+vg.Points(8), 0, 0, -vg.Points(30)))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("cannot draw the plot: %w", err)
	}
	return b.Bytes(), nil
}
