package exporter

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The exporter writes Prometheus's text exposition format (version 0.0.4) itself
// rather than through client_golang. Linking client_golang costs every vrwxctl
// command, not only the exporter: its init builds the default registry with the Go
// and process collectors, its protobuf descriptors register themselves, and
// protobuf's use of reflect.Value.MethodByName makes the linker keep every
// exported method of every linked type (docs/ARCHITECTURE.md, Start-up). What the
// exporter serves is a few dozen gauges and counters computed per scrape, which
// the format states in a line each.

// contentType is the text format's media type, as Prometheus asks for it.
const contentType = "text/plain; version=0.0.4; charset=utf-8"

// sample is one series: a metric's value with its label values, in the order of
// the metric's Labels. A histogram's series has hist instead of value.
type sample struct {
	name   string
	labels []string
	value  float64
	hist   *histValue
}

// histValue is a histogram's state: the count of observations at or below each
// bound (ascending), their sum and their count.
type histValue struct {
	bounds     []float64
	cumulative []uint64
	sum        float64
	count      uint64
}

// writeText writes the samples of each metric of defs, in defs' order, under the
// metric's HELP and TYPE lines; a metric without samples is left out. A sample
// whose label values do not match its metric's labels is a bug in the caller,
// like a sample of a metric defs do not list: writeText panics.
func writeText(w io.Writer, defs []Metric, samples []sample) error {
	byName := make(map[string][]sample, len(defs))
	for _, s := range samples {
		byName[s.name] = append(byName[s.name], s)
	}
	var b []byte
	for _, d := range defs {
		ss := byName[d.Name]
		delete(byName, d.Name)
		if len(ss) == 0 {
			continue
		}
		b = append(b, "# HELP "+d.Name+" "...)
		b = appendEscaped(b, d.Help, false)
		b = append(b, "\n# TYPE "+d.Name+" "+d.Type+"\n"...)
		for _, s := range ss {
			if len(s.labels) != len(d.Labels) || (s.hist != nil) != (d.Type == "histogram") {
				panic(fmt.Sprintf("exporter: %s (%s) has labels %v, a sample gives %d values (histogram: %t)", d.Name, d.Type, d.Labels, len(s.labels), s.hist != nil))
			}
			if s.hist == nil {
				b = appendLine(b, d.Name, d.Labels, s.labels, "", 0, s.value)
				continue
			}
			// As the format has it: a _bucket series per bound, cumulative, then
			// le="+Inf" (every observation), _sum and _count.
			h := s.hist
			for i, bound := range h.bounds {
				b = appendLine(b, d.Name+"_bucket", d.Labels, s.labels, "le", bound, float64(h.cumulative[i]))
			}
			b = appendLine(b, d.Name+"_bucket", d.Labels, s.labels, "le", math.Inf(1), float64(h.count))
			b = appendLine(b, d.Name+"_sum", d.Labels, s.labels, "", 0, h.sum)
			b = appendLine(b, d.Name+"_count", d.Labels, s.labels, "", 0, float64(h.count))
		}
	}
	for name := range byName {
		panic("exporter: a sample of " + name + ", which no metric list has")
	}
	_, err := w.Write(b)
	return err
}

// appendLine appends one sample line: name{labels[, le="bound"]} value.
func appendLine(b []byte, name string, labels, values []string, le string, bound float64, v float64) []byte {
	b = append(b, name...)
	for i, l := range labels {
		if i == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = append(b, l+`="`...)
		b = appendEscaped(b, values[i], true)
		b = append(b, '"')
	}
	if le != "" {
		if len(labels) == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = append(b, le+`="`...)
		b = appendFloat(b, bound)
		b = append(b, '"')
	}
	if len(labels) > 0 || le != "" {
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = appendFloat(b, v)
	return append(b, '\n')
}

// appendEscaped escapes what the format requires: a backslash and a line feed in
// HELP text, and a double quote too in a label value.
func appendEscaped(b []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// Standard are the process's own metrics, under the names client_golang's Go and
// process collectors give them (dashboards and alerts written for any Go exporter
// find them). The process_* ones that /proc gives are left out where there is none.
var Standard = []Metric{
	{"go_goroutines", "gauge", nil, "Goroutines that exist now."},
	{"go_info", "gauge", []string{"version"}, "Always 1; the label carries the Go version the binary was built with."},
	{"go_memstats_heap_alloc_bytes", "gauge", nil, "Bytes of allocated heap objects (runtime.MemStats.HeapAlloc)."},
	{"go_memstats_sys_bytes", "gauge", nil, "Bytes of memory the Go runtime obtained from the OS (runtime.MemStats.Sys)."},
	{"process_cpu_seconds_total", "counter", nil, "User and system CPU time the process used, in seconds."},
	{"process_resident_memory_bytes", "gauge", nil, "Resident memory of the process in bytes."},
	{"process_virtual_memory_bytes", "gauge", nil, "Virtual memory of the process in bytes."},
	{"process_start_time_seconds", "gauge", nil, "When the exporter started (Unix seconds)."},
	{"process_open_fds", "gauge", nil, "File descriptors the process has open."},
	{"process_max_fds", "gauge", nil, "The process's limit on open file descriptors."},
}

// standardSamples reads the Standard metrics now; started is when the exporter
// was made.
func standardSamples(started time.Time) []sample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	out := []sample{
		{name: "go_goroutines", value: float64(runtime.NumGoroutine())},
		{name: "go_info", labels: []string{runtime.Version()}, value: 1},
		{name: "go_memstats_heap_alloc_bytes", value: float64(ms.HeapAlloc)},
		{name: "go_memstats_sys_bytes", value: float64(ms.Sys)},
		{name: "process_start_time_seconds", value: float64(started.Unix()) + float64(started.Nanosecond())/1e9},
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		out = append(out, sample{name: "process_cpu_seconds_total", value: float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9})
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		out = append(out, sample{name: "process_max_fds", value: float64(rl.Cur)})
	}
	// statm: the sizes in pages, total then resident.
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 2 {
			size, err1 := strconv.ParseUint(f[0], 10, 64)
			rss, err2 := strconv.ParseUint(f[1], 10, 64)
			if err1 == nil && err2 == nil {
				page := float64(os.Getpagesize())
				out = append(out, sample{name: "process_virtual_memory_bytes", value: float64(size) * page},
					sample{name: "process_resident_memory_bytes", value: float64(rss) * page})
			}
		}
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		out = append(out, sample{name: "process_open_fds", value: float64(len(fds))})
	}
	return out
}
