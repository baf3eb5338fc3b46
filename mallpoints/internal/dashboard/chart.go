package dashboard

import (
	"strconv"
	"time"

	"github.com/seed2ac2593f/wxpay/mallpoints/internal/storage"
)

// chart is the overview's picture of the last 24 hours, drawn as inline SVG
// by the template: one bar per hour for payments, and a line for the points
// they earned, each scaled to its own maximum.
type chart struct {
	Width, Height int
	ViewHeight    int // Height and the room below it for the hour labels
	LabelY        int
	Bars          []bar
	Points        string // the polyline's points attribute
	MaxPayments   int64
	MaxPoints     int64
	Labels        []label
}

type bar struct {
	X, Y, W, H float64
	Title      string // the tooltip: the hour, payments and points
}

type label struct {
	X    float64
	Text string
}

const (
	chartWidth  = 720
	chartHeight = 120
	chartTop    = 10 // room for the line's highest point
)

func newChart(l *language, hours []storage.Hour) chart {
	c := chart{Width: chartWidth, Height: chartHeight, ViewHeight: chartHeight + 20, LabelY: chartHeight + 15}
	for _, h := range hours {
		c.MaxPayments = max(c.MaxPayments, h.Payments)
		c.MaxPoints = max(c.MaxPoints, h.Points)
	}
	slot := float64(chartWidth) / float64(max(len(hours), 1))
	plot := float64(chartHeight - chartTop)
	var line []byte
	for i, h := range hours {
		x := float64(i) * slot
		var bh, py float64
		if c.MaxPayments > 0 {
			bh = plot * float64(h.Payments) / float64(c.MaxPayments)
		}
		py = chartHeight
		if c.MaxPoints > 0 {
			py = chartHeight - plot*float64(h.Points)/float64(c.MaxPoints)
		}
		start := h.Start.In(beijing)
		c.Bars = append(c.Bars, bar{X: x + 2, Y: chartHeight - bh, W: slot - 4, H: bh,
			Title: l.T("overview.chart.bar", start.Format("15:04"), start.Add(time.Hour).Format("15:04"), h.Payments, h.Points)})
		if len(line) > 0 {
			line = append(line, ' ')
		}
		line = strconv.AppendFloat(line, x+slot/2, 'f', 1, 64)
		line = append(line, ',')
		line = strconv.AppendFloat(line, py, 'f', 1, 64)
		if start.Hour()%6 == 0 {
			c.Labels = append(c.Labels, label{X: x + slot/2, Text: start.Format("15:04")})
		}
	}
	c.Points = string(line)
	return c
}
