// Package secretstest runs local HTTP servers that speak the wire protocols of
// HashiCorp Vault's KV v2 secrets engine (with token and AppRole auth) and of
// AWS Secrets Manager (JSON 1.1), so that the real SDK clients can be tested
// against them where no real server can be had. They follow the services'
// documented behaviour — versions, staging labels, check-and-set, error shapes —
// not the convenience of vrwxctl's code, and record every request so a test can
// assert what crossed the wire and where.
package secretstest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Request is one HTTP request a server received, as it arrived.
type Request struct {
	Time     time.Time
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// InURLOrHeaders reports whether s occurs in the request's path, query or any
// header name or value: places (logged by proxies, load balancers and access
// logs) where secret material must never travel.
func (r Request) InURLOrHeaders(s string) bool {
	if s == "" {
		return false
	}
	ls := strings.ToLower(s)
	if strings.Contains(strings.ToLower(r.Path), ls) || strings.Contains(strings.ToLower(r.RawQuery), ls) {
		return true
	}
	for k, vs := range r.Header {
		if strings.Contains(strings.ToLower(k), ls) {
			return true
		}
		for _, v := range vs {
			if strings.Contains(strings.ToLower(v), ls) {
				return true
			}
		}
	}
	return false
}

// InBody reports whether s occurs in the request body (case-insensitively).
func (r Request) InBody(s string) bool {
	return s != "" && bytes.Contains(bytes.ToLower(r.Body), []byte(strings.ToLower(s)))
}

type recorder struct {
	mu   sync.Mutex
	reqs []Request
}

// take reads the body and records the request; the handler uses the returned
// body.
func (rc *recorder) take(r *http.Request) []byte {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, Request{
		Time:     time.Now(),
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     bytes.Clone(body),
	})
	rc.mu.Unlock()
	return body
}

func (rc *recorder) all() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]Request, len(rc.reqs))
	copy(out, rc.reqs)
	return out
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}
