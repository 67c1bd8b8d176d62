package shell

import (
	"fmt"
	"time"
)

// The progress line of a download (Config.Progress: the client sets it
// when stderr is a terminal; never otherwise, so a pipe or a file gets no
// progress codes). It appears once a transfer has lasted progressDelay,
// is redrawn in place ("\r", then clear to the end of the line) at most
// every progressEvery, and is erased when the transfer ends, well or not:
//
//	 45%  12.3 MiB of 27.4 MiB  3.1 MiB/s  4s left   (GET_FILE_SIZED)
//	12.3 MiB  3.1 MiB/s                              (plain GET_FILE)
//
// The rate is smoothed over the redraws (a moving average), so the time
// left follows a link that speeds up or slows down without jumping about.
// The line holds no name and stays under 60 columns, so it never wraps
// (a wrapped line could not be erased by "\r").
type progress struct {
	out   *console
	now   func() time.Time
	start time.Time
	// last is the time of the last redraw and lastDone the bytes then;
	// rate is the smoothed rate in bytes per second (0: none yet).
	last     time.Time
	lastDone int64
	rate     float64
	shown    bool
}

const (
	progressDelay = 500 * time.Millisecond
	progressEvery = 250 * time.Millisecond
	// rateWeight is the weight of the newest interval in the rate.
	rateWeight = 0.3
)

func newProgress(out *console, now func() time.Time) *progress {
	t := now()
	return &progress{out: out, now: now, start: t, last: t}
}

// update is DownloadConfig.Progress: done bytes so far, of total (-1: not
// known).
func (p *progress) update(done, total int64) {
	t := p.now()
	if t.Sub(p.start) < progressDelay || p.shown && t.Sub(p.last) < progressEvery {
		return
	}
	inst := float64(done-p.lastDone) / t.Sub(p.last).Seconds()
	if p.shown {
		p.rate = rateWeight*inst + (1-rateWeight)*p.rate
	} else {
		p.rate = inst // the first redraw: the average since the start
	}
	p.last, p.lastDone, p.shown = t, done, true
	p.out.status(progressLine(done, total, p.rate))
}

// done erases the line, if it was drawn.
func (p *progress) done() {
	if p.shown {
		p.out.status("")
	}
}

// progressLine is the text of the progress line.
func progressLine(done, total int64, rate float64) string {
	if total < 0 {
		return fmt.Sprintf("%s  %s/s", bytesText(done), bytesText(int64(rate)))
	}
	pct := int64(100)
	if total > 0 {
		pct = min(done*100/total, 100)
	}
	line := fmt.Sprintf("%3d%%  %s of %s  %s/s", pct, bytesText(done), bytesText(total), bytesText(int64(rate)))
	if rate > 0 && done < total {
		secs := min(float64(total-done)/rate, 100*3600) // no overflow
		line += "  " + durationText(time.Duration(secs*float64(time.Second))) + " left"
	}
	return line
}

// bytesText is n in B, KiB, MiB, GiB or TiB, one decimal past B.
func bytesText(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", max(n, 0))
	}
	f, units := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if f < 1024 {
			break
		}
		f, units = f/1024, u
	}
	return fmt.Sprintf("%.1f %s", f, units)
}

// durationText is d rounded up to the second: "4s", "2m05s", "1h02m";
// more than 99 hours is "99h+".
func durationText(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 100*3600:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return "99h+"
}
