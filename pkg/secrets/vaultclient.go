package secrets

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// vaultClient speaks the part of Vault's HTTP API that vrwxctl uses — KV version 2
// reads, check-and-set writes and metadata, and AppRole login — configured from the
// environment the way the vault CLI and Vault's Go client are. It stands in for
// github.com/hashicorp/vault/api, whose package init (40 regular expressions, 300
// KiB) and dependencies every vrwxctl command paid for at start-up, Vault or not
// (docs/ARCHITECTURE.md, Start-up).
type vaultClient struct {
	addr      string // scheme://host[:port], no trailing slash
	token     string
	namespace string
	retries   int
	http      *http.Client
}

// errVaultNotFound: Vault has no secret (or no such version) at the path.
var errVaultNotFound = errors.New("secret not found")

// vaultResponseError is an answer other than 2xx, with the errors Vault gave.
type vaultResponseError struct {
	StatusCode int
	Errors     []string
}

func (e *vaultResponseError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.StatusCode, strings.Join(e.Errors, "; "))
}

// vaultEnvConfig reads the client's settings from the environment, as Vault's Go
// client does: VAULT_ADDR (default https://127.0.0.1:8200; VAULT_AGENT_ADDR wins
// when set), VAULT_TOKEN, VAULT_NAMESPACE, VAULT_CACERT, VAULT_CAPATH,
// VAULT_CLIENT_CERT and VAULT_CLIENT_KEY, VAULT_TLS_SERVER_NAME, VAULT_SKIP_VERIFY,
// VAULT_MAX_RETRIES (default 2), VAULT_CLIENT_TIMEOUT (default 60 s) and
// VAULT_HTTP_PROXY or VAULT_PROXY_ADDR. addr, when not empty, replaces the address;
// hc, when not nil, is the HTTP client (the TLS and proxy settings are then its own).
func newVaultClient(addr string, hc *http.Client) (*vaultClient, error) {
	c := &vaultClient{addr: "https://127.0.0.1:8200", retries: 2}
	if v := os.Getenv("VAULT_ADDR"); v != "" {
		c.addr = v
	}
	if v := os.Getenv("VAULT_AGENT_ADDR"); v != "" {
		c.addr = v
	}
	if addr != "" {
		c.addr = addr
	}
	c.addr = strings.TrimSuffix(c.addr, "/")
	if u, err := url.Parse(c.addr); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("the Vault address %q: want http(s)://HOST[:PORT]", c.addr)
	}
	c.token = os.Getenv("VAULT_TOKEN")
	c.namespace = os.Getenv("VAULT_NAMESPACE")
	if v := os.Getenv("VAULT_MAX_RETRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("VAULT_MAX_RETRIES=%q: want a count", v)
		}
		c.retries = n
	}
	if hc != nil {
		c.http = hc
		return c, nil
	}
	timeout := 60 * time.Second
	if v := os.Getenv("VAULT_CLIENT_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if n, nerr := strconv.Atoi(v); nerr == nil {
			d, err = time.Duration(n)*time.Second, nil
		}
		if err != nil || d < 0 {
			return nil, fmt.Errorf("VAULT_CLIENT_TIMEOUT=%q: want seconds or a duration (60s)", v)
		}
		timeout = d
	}
	tlsConf, err := vaultTLS()
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
	}
	for _, k := range []string{"VAULT_HTTP_PROXY", "VAULT_PROXY_ADDR"} {
		if v := os.Getenv(k); v != "" {
			u, err := url.Parse(v)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("%s=%q: want a proxy URL", k, v)
			}
			tr.Proxy = http.ProxyURL(u)
		}
	}
	c.http = &http.Client{Transport: tr, Timeout: timeout}
	return c, nil
}

// vaultTLS is the TLS configuration VAULT_CACERT, VAULT_CAPATH, VAULT_CLIENT_CERT,
// VAULT_CLIENT_KEY, VAULT_TLS_SERVER_NAME and VAULT_SKIP_VERIFY describe.
func vaultTLS() (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: os.Getenv("VAULT_TLS_SERVER_NAME")}
	if v := os.Getenv("VAULT_SKIP_VERIFY"); v != "" {
		skip, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("VAULT_SKIP_VERIFY=%q: want true or false", v)
		}
		conf.InsecureSkipVerify = skip
	}
	var pems []string
	if f := os.Getenv("VAULT_CACERT"); f != "" {
		pems = append(pems, f)
	} else if dir := os.Getenv("VAULT_CAPATH"); dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("VAULT_CAPATH: %w", err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				pems = append(pems, filepath.Join(dir, e.Name()))
			}
		}
	}
	if len(pems) > 0 {
		pool := x509.NewCertPool()
		for _, f := range pems {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("the Vault CA certificate: %w", err)
			}
			if !pool.AppendCertsFromPEM(b) {
				return nil, fmt.Errorf("the Vault CA certificate %s holds no PEM certificate", f)
			}
		}
		conf.RootCAs = pool
	}
	cert, key := os.Getenv("VAULT_CLIENT_CERT"), os.Getenv("VAULT_CLIENT_KEY")
	if cert != "" || key != "" {
		if cert == "" || key == "" {
			return nil, errors.New("VAULT_CLIENT_CERT and VAULT_CLIENT_KEY go together")
		}
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("the Vault client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{pair}
	}
	return conf, nil
}

// vaultBody is a response body: a secret's data, an AppRole login's auth, or the
// errors of a failure.
type vaultBody struct {
	Data   json.RawMessage `json:"data"`
	Auth   *vaultAuth      `json:"auth"`
	Errors []string        `json:"errors"`
}

type vaultAuth struct {
	ClientToken string `json:"client_token"`
}

// do sends a request to /v1/path and decodes a 2xx answer's body into a
// vaultBody. A read's 404 whose body carries data (a deleted or destroyed version:
// the data is null, its metadata says why) is answered like a 200; any other 404
// of a read is errVaultNotFound. Connection errors, 412 (a standby behind on replication) and
// 5xx but 501 are retried up to c.retries times, a second or so apart.
func (c *vaultClient) do(ctx context.Context, method, path string, query url.Values, in any) (*vaultBody, error) {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return nil, err
		}
	}
	u := c.addr + "/v1/" + strings.TrimPrefix(path, "/")
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	for attempt := 0; ; attempt++ {
		body, status, err := c.once(ctx, method, u, payload)
		retry := err != nil && ctx.Err() == nil || status == http.StatusPreconditionFailed || status >= 500 && status != http.StatusNotImplemented
		if !retry || attempt >= c.retries {
			if err != nil {
				return nil, err
			}
			return decodeVault(method, status, body)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second + rand.N(500*time.Millisecond)):
		}
	}
}

func (c *vaultClient) once(ctx context.Context, method, u string, payload []byte) ([]byte, int, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("X-Vault-Request", "true")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("X-Vault-Token", c.token)
	}
	if c.namespace != "" {
		req.Header.Set("X-Vault-Namespace", c.namespace)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: reading the answer: %w", method, u, err)
	}
	return body, resp.StatusCode, nil
}

func decodeVault(method string, status int, body []byte) (*vaultBody, error) {
	var b vaultBody
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber() // numbers in a secret's data are written back as they were
		if err := dec.Decode(&b); err != nil {
			if status/100 == 2 {
				return nil, fmt.Errorf("the Vault server answered HTTP %d with a body that is not JSON", status)
			}
			// A proxy's page, say: its text, whole (cut short, a key it echoes could
			// be left half, which redact would not recognise).
			return nil, &vaultResponseError{StatusCode: status, Errors: []string{strings.TrimSpace(string(body))}}
		}
	}
	switch {
	case status/100 == 2:
		return &b, nil
	case status == http.StatusNotFound && method == http.MethodGet && len(b.Data) > 0 && string(b.Data) != "null":
		return &b, nil
	case status == http.StatusNotFound && method == http.MethodGet:
		return nil, errVaultNotFound
	}
	return nil, &vaultResponseError{StatusCode: status, Errors: b.Errors}
}

// write sends body to path (Vault's "write": a PUT) and returns the answer.
func (c *vaultClient) write(ctx context.Context, path string, body any) (*vaultBody, error) {
	return c.do(ctx, http.MethodPut, path, nil, body)
}

// kvVersionMeta is what KV v2 says of one version.
type kvVersionMeta struct {
	Version      int
	CreatedTime  time.Time
	DeletionTime time.Time // zero: not deleted
	Destroyed    bool
}

func (m *kvVersionMeta) UnmarshalJSON(b []byte) error {
	var raw struct {
		Version      json.Number `json:"version"`
		CreatedTime  string      `json:"created_time"`
		DeletionTime string      `json:"deletion_time"`
		Destroyed    bool        `json:"destroyed"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw.Version != "" {
		n, err := raw.Version.Int64()
		if err != nil {
			return fmt.Errorf("version %q: %w", raw.Version, err)
		}
		m.Version = int(n)
	}
	for _, t := range []struct {
		s  string
		to *time.Time
	}{{raw.CreatedTime, &m.CreatedTime}, {raw.DeletionTime, &m.DeletionTime}} {
		if t.s == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, t.s)
		if err != nil {
			return err
		}
		*t.to = v
	}
	m.Destroyed = raw.Destroyed
	return nil
}

// kvSecret is one version of a KV v2 secret. Data is nil when the version is
// deleted or destroyed.
type kvSecret struct {
	Data            map[string]any
	VersionMetadata *kvVersionMeta
	CustomMetadata  map[string]any
}

// kvMetadata is a KV v2 secret's metadata: every version Vault keeps.
type kvMetadata struct {
	CurrentVersion int                      `json:"current_version"`
	Versions       map[string]kvVersionMeta `json:"versions"`
	CustomMetadata map[string]any           `json:"custom_metadata"`
}

func unmarshalVault(b *vaultBody, what string, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b.Data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("the Vault server's answer to %s does not read as KV v2: %w", what, err)
	}
	return nil
}

// kvGet reads version n of mount/path, the latest when n is 0.
func (c *vaultClient) kvGet(ctx context.Context, mount, path string, n int) (*kvSecret, error) {
	var q url.Values
	if n != 0 {
		q = url.Values{"version": {strconv.Itoa(n)}}
	}
	b, err := c.do(ctx, http.MethodGet, mount+"/data/"+path, q, nil)
	if err != nil {
		return nil, err
	}
	var d struct {
		Data     map[string]any  `json:"data"`
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := unmarshalVault(b, "a read", &d); err != nil {
		return nil, err
	}
	sec := &kvSecret{Data: d.Data}
	if len(d.Metadata) > 0 && string(d.Metadata) != "null" {
		sec.VersionMetadata = &kvVersionMeta{}
		var cm struct {
			CustomMetadata map[string]any `json:"custom_metadata"`
		}
		if err := json.Unmarshal(d.Metadata, sec.VersionMetadata); err != nil {
			return nil, fmt.Errorf("the version metadata Vault sent: %w", err)
		}
		if err := json.Unmarshal(d.Metadata, &cm); err != nil {
			return nil, fmt.Errorf("the version metadata Vault sent: %w", err)
		}
		sec.CustomMetadata = cm.CustomMetadata
	}
	return sec, nil
}

// kvMetadata reads mount/path's metadata.
func (c *vaultClient) kvMetadata(ctx context.Context, mount, path string) (*kvMetadata, error) {
	b, err := c.do(ctx, http.MethodGet, mount+"/metadata/"+path, nil, nil)
	if err != nil {
		return nil, err
	}
	var md kvMetadata
	if err := unmarshalVault(b, "a metadata read", &md); err != nil {
		return nil, err
	}
	return &md, nil
}

// kvPut writes a new version of mount/path if its current version is cas (0: the
// secret must not exist yet): Vault's check-and-set.
func (c *vaultClient) kvPut(ctx context.Context, mount, path string, data map[string]any, cas int) (*kvSecret, error) {
	b, err := c.do(ctx, http.MethodPut, mount+"/data/"+path, nil, map[string]any{"data": data, "options": map[string]any{"cas": cas}})
	if err != nil {
		return nil, err
	}
	var vm kvVersionMeta
	if err := unmarshalVault(b, "a write", &vm); err != nil {
		return nil, err
	}
	if vm.Version == 0 {
		return nil, errors.New("the Vault server answered the write without the version it made")
	}
	return &kvSecret{Data: data, VersionMetadata: &vm}, nil
}
