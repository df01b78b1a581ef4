package exportertest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// The Prometheus server and promtool are Debian's prometheus package, which
// scripts/tools.sh installs. They are the oracle for docs/monitoring: tests that need
// them skip (saying why) outside CI and fail under $CI, like the anvil tests.

// PromtoolPath locates promtool: $VRWX_PROMTOOL, else $PATH.
func PromtoolPath() (string, error) { return binPath("promtool", "VRWX_PROMTOOL") }

// PrometheusPath locates the Prometheus server: $VRWX_PROMETHEUS, else $PATH.
func PrometheusPath() (string, error) { return binPath("prometheus", "VRWX_PROMETHEUS") }

func binPath(name, env string) (string, error) {
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", env, p, err)
		}
		return p, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found on $PATH (or $%s): run scripts/tools.sh (as root it installs Debian's prometheus package)", name, env)
	}
	return p, nil
}

// RequirePromtool returns promtool's path, or skips the test (fails it under $CI).
func RequirePromtool(t testing.TB) string { t.Helper(); return require(t, PromtoolPath) }

// RequirePrometheus returns the Prometheus server's path, or skips the test (fails it
// under $CI).
func RequirePrometheus(t testing.TB) string { t.Helper(); return require(t, PrometheusPath) }

func require(t testing.TB, find func() (string, error)) string {
	t.Helper()
	p, err := find()
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "" {
		t.Skip(err.Error())
	}
	t.Fatal(err)
	return ""
}

// Prometheus is a Prometheus server started for one test.
type Prometheus struct {
	URL string
	t   testing.TB
}

// StartPrometheus runs the Prometheus server with config (prometheus.yml contents)
// on a free loopback port, with its storage in a temp dir, and stops it when the test
// ends. Files named in config are resolved relative to dir (written by the caller).
func StartPrometheus(t testing.TB, dir, config string) *Prometheus {
	t.Helper()
	bin := RequirePrometheus(t)
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	p := &Prometheus{URL: "http://" + addr, t: t}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-done:
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("prometheus exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("prometheus not ready within 30s:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Alert is one entry of /api/v1/alerts.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	Value       string            `json:"value"`
}

// Alerts returns the server's pending and firing alerts (GET /api/v1/alerts).
func (p *Prometheus) Alerts() ([]Alert, error) {
	var out struct {
		Status string `json:"status"`
		Data   struct {
			Alerts []Alert `json:"alerts"`
		} `json:"data"`
	}
	if err := p.get("/api/v1/alerts", &out); err != nil {
		return nil, err
	}
	return out.Data.Alerts, nil
}

// Series is one series of an instant query's result.
type Series struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// Query runs an instant PromQL query (GET /api/v1/query); an invalid query is an error.
func (p *Prometheus) Query(q string) ([]Series, error) {
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := p.get("/api/v1/query?query="+url.QueryEscape(q), &out); err != nil {
		return nil, err
	}
	if out.Status != "success" {
		return nil, fmt.Errorf("query %q: %s", q, out.Error)
	}
	if out.Data.ResultType != "vector" {
		return nil, nil
	}
	var s []Series
	if err := json.Unmarshal(out.Data.Result, &s); err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	return s, nil
}

// Targets returns the health of each scrape target (GET /api/v1/targets): scrape
// URL -> "up", "down" or "unknown", with the last error.
func (p *Prometheus) Targets() (map[string]string, error) {
	var out struct {
		Data struct {
			ActiveTargets []struct {
				ScrapeURL string `json:"scrapeUrl"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := p.get("/api/v1/targets", &out); err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, t := range out.Data.ActiveTargets {
		m[t.ScrapeURL] = t.Health + " " + t.LastError
	}
	return m, nil
}

func (p *Prometheus) get(path string, v any) error {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(p.URL + path)
	if err != nil {
		return fmt.Errorf("prometheus %s: %w", path, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("prometheus %s: %w", path, err)
	}
	return nil
}
