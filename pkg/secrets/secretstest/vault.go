package secretstest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/google/uuid"
)

// Vault is a local server for Vault's KV version 2 secrets engine API
// (https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2) plus token and
// AppRole authentication:
//
//	GET        /v1/{mount}/data/{path}[?version=N]  read the latest or a given version
//	POST, PUT  /v1/{mount}/data/{path}              write {"data":{…},"options":{"cas":N}}
//	DELETE     /v1/{mount}/data/{path}              soft-delete the latest version
//	GET        /v1/{mount}/metadata/{path}          versions, current_version, custom_metadata, …
//	POST, PUT  /v1/{mount}/metadata/{path}          set max_versions, cas_required, delete_version_after, custom_metadata
//	PATCH      /v1/{mount}/metadata/{path}          the same as a JSON merge patch (a custom_metadata key set to null goes)
//	DELETE     /v1/{mount}/metadata/{path}          delete the secret and all its versions
//	POST, PUT  /v1/auth/approle/login               {"role_id","secret_id"} → auth.client_token
//	POST       /v1/sys/capabilities-self             {"paths":[…]} → each path's capabilities (Restrict)
//
// Every other request needs a token (X-Vault-Token, or Authorization: Bearer)
// that the server issued: the root token or one from an AppRole login; without
// one the answer is 403 {"errors":["permission denied"]}, as Vault's. Secrets are
// kept per namespace (the X-Vault-Namespace header), so a client that forgets
// its namespace does not find them. It is safe for concurrent use.
type Vault struct {
	srv *httptest.Server
	rec recorder

	mu         sync.Mutex
	rootToken  string
	tokens     map[string]string // token → how it was issued
	roles      map[string]string // role_id → secret_id
	mounts     map[string]bool
	casMounts  map[string]bool
	secrets    map[kvKey]*kvSecret
	gate       *writeGate
	maxVersion int
	echo       string // "", "json" or "raw": see EchoWriteErrors
	echoForm   Echo
	// caps are the capabilities of tokens other than the root token, by path
	// ("secret/data/x"); a path without an entry allows everything.
	caps map[string][]string
}

type kvKey struct{ ns, mount, path string }

type kvSecret struct {
	current, oldest  int
	created, updated time.Time
	maxVersions      int
	casRequired      bool
	deleteAfter      time.Duration
	custom           map[string]string
	versions         map[int]*kvVersion
}

type kvVersion struct {
	data      json.RawMessage
	created   time.Time
	deletion  time.Time
	destroyed bool
}

type writeGate struct {
	n, arrived int
	open       chan struct{}
}

// NewVault starts a server with KV v2 engines at the given mounts ("secret"
// when none are given), closed when the test ends.
func NewVault(t testing.TB, mounts ...string) *Vault {
	t.Helper()
	if len(mounts) == 0 {
		mounts = []string{"secret"}
	}
	v := &Vault{
		rootToken:  "hvs." + randomHex(12),
		tokens:     map[string]string{},
		roles:      map[string]string{},
		mounts:     map[string]bool{},
		casMounts:  map[string]bool{},
		caps:       map[string][]string{},
		secrets:    map[kvKey]*kvSecret{},
		maxVersion: 10,
	}
	v.tokens[v.rootToken] = "root"
	for _, m := range mounts {
		v.mounts[strings.Trim(m, "/")] = true
	}
	v.srv = httptest.NewServer(v)
	t.Cleanup(v.srv.Close)
	return v
}

// Addr is the server's address, for VAULT_ADDR.
func (v *Vault) Addr() string { return v.srv.URL }

// RootToken is a token the server accepts, for VAULT_TOKEN.
func (v *Vault) RootToken() string { return v.rootToken }

// AddAppRole registers an AppRole role_id with its secret_id.
func (v *Vault) AddAppRole(roleID, secretID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.roles[roleID] = secretID
}

// EchoWriteErrors makes every later data write fail with HTTP 400 quoting the whole
// request body — the secret's data included — as a misbehaving proxy in front of
// Vault might: in Vault's {"errors": […]} shape, or with raw as a plain-text body
// (which the client quotes whole, since it cannot parse it). Nothing is stored.
func (v *Vault) EchoWriteErrors(raw bool) { v.EchoWriteErrorsAs(EchoForms["verbatim"], raw) }

// EchoWriteErrorsAs is EchoWriteErrors with the body sent back in form.
func (v *Vault) EchoWriteErrorsAs(form Echo, raw bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.echo, v.echoForm = "json", form
	if raw {
		v.echo = "raw"
	}
}

// RequireCAS makes a mount demand options.cas on every data write, as the
// engine's config cas_required=true does.
func (v *Vault) RequireCAS(mount string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.casMounts[mount] = true
}

// Requests returns every request received so far.
func (v *Vault) Requests() []Request { return v.rec.all() }

// Restrict gives every token but the root token only caps on path (a full API
// path such as "secret/data/vrwx/relayer"), as a policy would: requests there
// that need another capability are denied (403), and sys/capabilities-self
// reports caps.
func (v *Vault) Restrict(path string, caps ...string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.caps[path] = caps
}

// capsOf are tok's capabilities on path. v.mu must be held.
func (v *Vault) capsOf(tok, path string) []string {
	if v.tokens[tok] == "root" {
		return []string{"root"}
	}
	if c, ok := v.caps[path]; ok {
		return c
	}
	return []string{"create", "delete", "list", "patch", "read", "update"}
}

// allowed reports whether tok holds one of need on path (root holds all).
func (v *Vault) allowed(tok, path string, need ...string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, c := range v.capsOf(tok, path) {
		if c == "root" || slices.Contains(need, c) {
			return true
		}
	}
	return false
}

// capabilitiesSelf answers POST sys/capabilities-self: {"paths": […]} (or the
// older single "path"), with each path's capabilities, and "capabilities" too when
// one path was asked.
func (v *Vault) capabilitiesSelf(w http.ResponseWriter, tok string, body []byte) {
	var in struct {
		Paths []string `json:"paths"`
		Path  string   `json:"path"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		vaultErr(w, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		return
	}
	if in.Path != "" {
		in.Paths = append(in.Paths, in.Path)
	}
	if len(in.Paths) == 0 {
		vaultErr(w, http.StatusBadRequest, "missing paths")
		return
	}
	data := map[string]any{}
	v.mu.Lock()
	for _, p := range in.Paths {
		data[strings.Trim(p, "/")] = v.capsOf(tok, strings.Trim(p, "/"))
	}
	if len(in.Paths) == 1 {
		data["capabilities"] = v.capsOf(tok, strings.Trim(in.Paths[0], "/"))
	}
	v.mu.Unlock()
	out := envelope(data, nil)
	for k, val := range data {
		out[k] = val
	}
	vaultOK(w, http.StatusOK, out)
}

func token(r *http.Request) string {
	tok := r.Header.Get("X-Vault-Token")
	if tok == "" {
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			tok = b
		}
	}
	return tok
}

// GateDataWrites holds the next n data writes until all n have arrived, then
// lets them through one at a time: a deterministic race between writers that
// all read the same version before writing.
func (v *Vault) GateDataWrites(n int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gate = &writeGate{n: n, open: make(chan struct{})}
}

// WriteData writes a new version directly (no check-and-set), as `vault kv put`
// would, and returns its number. ns "" is the root namespace.
func (v *Vault) WriteData(ns, mount, path string, data map[string]any) int {
	raw, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	k := kvKey{normNS(ns), mount, path}
	s := v.secrets[k]
	if s == nil {
		s = newKVSecret()
		v.secrets[k] = s
	}
	return v.addVersion(s, raw)
}

// Data returns the data of a version (0 = latest) and whether it exists and is
// readable.
func (v *Vault) Data(ns, mount, path string, version int) (map[string]any, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.secrets[kvKey{normNS(ns), mount, path}]
	if s == nil {
		return nil, false
	}
	if version == 0 {
		version = s.current
	}
	ver := s.versions[version]
	if ver == nil || ver.destroyed || (!ver.deletion.IsZero() && ver.deletion.Before(time.Now())) {
		return nil, false
	}
	var m map[string]any
	_ = json.Unmarshal(ver.data, &m)
	return m, true
}

// CustomMetadata returns a copy of a secret's custom_metadata.
func (v *Vault) CustomMetadata(ns, mount, path string) map[string]string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s := v.secrets[kvKey{normNS(ns), mount, path}]; s != nil {
		return maps.Clone(s.custom)
	}
	return nil
}

// CurrentVersion is the secret's current_version (its latest version number).
func (v *Vault) CurrentVersion(ns, mount, path string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s := v.secrets[kvKey{normNS(ns), mount, path}]; s != nil {
		return s.current
	}
	return 0
}

func newKVSecret() *kvSecret {
	now := time.Now().UTC()
	return &kvSecret{created: now, updated: now, versions: map[int]*kvVersion{}}
}

// addVersion stores data as the next version and prunes beyond max_versions,
// as the engine does. v.mu must be held.
func (v *Vault) addVersion(s *kvSecret, data json.RawMessage) int {
	now := time.Now().UTC()
	s.current++
	ver := &kvVersion{data: data, created: now}
	if s.deleteAfter > 0 {
		ver.deletion = now.Add(s.deleteAfter)
	}
	s.versions[s.current] = ver
	s.updated = now
	if s.oldest == 0 {
		s.oldest = s.current
	}
	limit := s.maxVersions
	if limit == 0 {
		limit = v.maxVersion
	}
	for len(s.versions) > limit {
		delete(s.versions, s.oldest)
		s.oldest++
	}
	return s.current
}

func normNS(ns string) string { return strings.Trim(ns, "/") }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func vaultTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// envelope is the JSON every successful Vault response is wrapped in.
func envelope(data map[string]any, auth map[string]any) map[string]any {
	return map[string]any{
		"request_id":     uuid.NewString(),
		"lease_id":       "",
		"renewable":      false,
		"lease_duration": 0,
		"data":           data,
		"wrap_info":      nil,
		"warnings":       nil,
		"auth":           auth,
		"mount_type":     "kv",
	}
}

func vaultErr(w http.ResponseWriter, status int, msgs ...string) {
	if msgs == nil {
		msgs = []string{}
	}
	writeJSON(w, status, "application/json", map[string]any{"errors": msgs})
}

func vaultOK(w http.ResponseWriter, status int, body map[string]any) {
	writeJSON(w, status, "application/json", body)
}

func (v *Vault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body := v.rec.take(r)
	if !strings.HasPrefix(r.URL.Path, "/v1/") {
		vaultErr(w, http.StatusNotFound)
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/v1/")
	write := r.Method == http.MethodPost || r.Method == http.MethodPut
	if p == "auth/approle/login" && write {
		v.login(w, body)
		return
	}
	if !v.authorised(r) {
		vaultErr(w, http.StatusForbidden, "permission denied")
		return
	}
	if p == "sys/capabilities-self" && write {
		v.capabilitiesSelf(w, token(r), body)
		return
	}
	need := []string{"read"}
	switch {
	case write:
		need = []string{"create", "update"}
	case r.Method == http.MethodPatch:
		need = []string{"patch"}
	case r.Method == http.MethodDelete:
		need = []string{"delete"}
	}
	if !v.allowed(token(r), p, need...) {
		vaultErr(w, http.StatusForbidden, "1 error occurred:\n\t* permission denied\n\n")
		return
	}
	mount, rest, _ := strings.Cut(p, "/")
	kind, path, _ := strings.Cut(rest, "/")
	v.mu.Lock()
	mounted := v.mounts[mount]
	v.mu.Unlock()
	if !mounted || (kind != "data" && kind != "metadata") || path == "" || strings.HasSuffix(path, "/") {
		vaultErr(w, http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", p))
		return
	}
	k := kvKey{normNS(r.Header.Get("X-Vault-Namespace")), mount, path}
	switch {
	case kind == "data" && r.Method == http.MethodGet:
		v.readData(w, r, k)
	case kind == "data" && write:
		v.mu.Lock()
		echo, form := v.echo, v.echoForm
		v.mu.Unlock()
		switch echo {
		case "json":
			vaultErr(w, http.StatusBadRequest, "invalid request body: "+form(body))
			return
		case "raw":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte("bad request: " + form(body)))
			return
		}
		v.writeData(w, r, k, body)
	case kind == "data" && r.Method == http.MethodDelete:
		v.deleteLatest(w, k)
	case kind == "metadata" && r.Method == http.MethodGet:
		v.readMetadata(w, k)
	case kind == "metadata" && write:
		v.writeMetadata(w, k, body)
	case kind == "metadata" && r.Method == http.MethodPatch:
		v.patchMetadata(w, r, k, body)
	case kind == "metadata" && r.Method == http.MethodDelete:
		v.mu.Lock()
		delete(v.secrets, k)
		v.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		vaultErr(w, http.StatusMethodNotAllowed, "unsupported operation")
	}
}

func (v *Vault) authorised(r *http.Request) bool {
	tok := r.Header.Get("X-Vault-Token")
	if tok == "" {
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			tok = b
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.tokens[tok]
	return tok != "" && ok
}

func (v *Vault) login(w http.ResponseWriter, body []byte) {
	var in struct {
		RoleID   string `json:"role_id"`
		SecretID string `json:"secret_id"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		vaultErr(w, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		return
	}
	if in.RoleID == "" {
		vaultErr(w, http.StatusBadRequest, "missing role_id")
		return
	}
	v.mu.Lock()
	want, ok := v.roles[in.RoleID]
	if !ok || in.SecretID == "" || want != in.SecretID {
		v.mu.Unlock()
		vaultErr(w, http.StatusBadRequest, "invalid role or secret ID")
		return
	}
	tok := "hvs." + randomHex(12)
	v.tokens[tok] = "approle"
	v.mu.Unlock()
	vaultOK(w, http.StatusOK, envelope(nil, map[string]any{
		"client_token":    tok,
		"accessor":        randomHex(12),
		"policies":        []string{"default"},
		"token_policies":  []string{"default"},
		"metadata":        map[string]string{"role_name": "vrwxctl"},
		"lease_duration":  2764800,
		"renewable":       true,
		"entity_id":       uuid.NewString(),
		"token_type":      "service",
		"orphan":          true,
		"mfa_requirement": nil,
		"num_uses":        0,
	}))
}

func versionMeta(n int, ver *kvVersion, custom map[string]string) map[string]any {
	return map[string]any{
		"version":         n,
		"created_time":    vaultTime(ver.created),
		"deletion_time":   vaultTime(ver.deletion),
		"destroyed":       ver.destroyed,
		"custom_metadata": customOrNil(custom),
	}
}

func customOrNil(m map[string]string) any {
	if m == nil {
		return nil
	}
	return maps.Clone(m)
}

func (v *Vault) readData(w http.ResponseWriter, r *http.Request, k kvKey) {
	want := 0
	if q := r.URL.Query().Get("version"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil {
			vaultErr(w, http.StatusBadRequest, fmt.Sprintf("error converting input %s for field \"version\": strconv.ParseInt: parsing %q: invalid syntax", q, q))
			return
		}
		want = n
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.secrets[k]
	if s == nil {
		vaultErr(w, http.StatusNotFound)
		return
	}
	n := s.current
	if want > 0 {
		n = want
	}
	ver := s.versions[n]
	if ver == nil {
		vaultErr(w, http.StatusNotFound)
		return
	}
	meta := versionMeta(n, ver, s.custom)
	if ver.destroyed || (!ver.deletion.IsZero() && ver.deletion.Before(time.Now())) {
		vaultOK(w, http.StatusNotFound, envelope(map[string]any{"data": nil, "metadata": meta}, nil))
		return
	}
	vaultOK(w, http.StatusOK, envelope(map[string]any{"data": ver.data, "metadata": meta}, nil))
}

func (v *Vault) passGate(r *http.Request) {
	v.mu.Lock()
	g := v.gate
	if g != nil {
		g.arrived++
		if g.arrived == g.n {
			close(g.open)
			v.gate = nil
		}
	}
	v.mu.Unlock()
	if g != nil {
		select {
		case <-g.open:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
}

func (v *Vault) writeData(w http.ResponseWriter, r *http.Request, k kvKey, body []byte) {
	var in struct {
		Data    json.RawMessage `json:"data"`
		Options map[string]any  `json:"options"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&in); err != nil {
		vaultErr(w, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		return
	}
	var obj map[string]any
	if len(in.Data) == 0 || json.Unmarshal(in.Data, &obj) != nil || obj == nil {
		vaultErr(w, http.StatusBadRequest, "no data provided")
		return
	}
	casRaw, casGiven := in.Options["cas"]
	cas := 0
	if casGiven {
		n, err := strconv.Atoi(fmt.Sprint(casRaw))
		if err != nil {
			vaultErr(w, http.StatusBadRequest, "error parsing check-and-set parameter")
			return
		}
		cas = n
	}
	v.passGate(r)
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.secrets[k]
	isNew := s == nil
	if isNew {
		s = newKVSecret()
	}
	switch {
	case casGiven && cas != s.current:
		vaultErr(w, http.StatusBadRequest, "check-and-set parameter did not match the current version")
		return
	case !casGiven && (s.casRequired || v.casMounts[k.mount]):
		vaultErr(w, http.StatusBadRequest, "check-and-set parameter required for this call")
		return
	}
	if isNew {
		v.secrets[k] = s
	}
	n := v.addVersion(s, in.Data)
	vaultOK(w, http.StatusOK, envelope(versionMeta(n, s.versions[n], s.custom), nil))
}

func (v *Vault) deleteLatest(w http.ResponseWriter, k kvKey) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s := v.secrets[k]; s != nil {
		if ver := s.versions[s.current]; ver != nil && ver.deletion.IsZero() {
			ver.deletion = time.Now().UTC()
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (v *Vault) readMetadata(w http.ResponseWriter, k kvKey) {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.secrets[k]
	if s == nil {
		vaultErr(w, http.StatusNotFound)
		return
	}
	versions := map[string]any{}
	for n, ver := range s.versions {
		versions[strconv.Itoa(n)] = map[string]any{
			"created_time":  vaultTime(ver.created),
			"deletion_time": vaultTime(ver.deletion),
			"destroyed":     ver.destroyed,
		}
	}
	vaultOK(w, http.StatusOK, envelope(map[string]any{
		"versions":             versions,
		"current_version":      s.current,
		"oldest_version":       s.oldest,
		"created_time":         vaultTime(s.created),
		"updated_time":         vaultTime(s.updated),
		"max_versions":         s.maxVersions,
		"cas_required":         s.casRequired,
		"delete_version_after": s.deleteAfter.String(),
		"custom_metadata":      customOrNil(s.custom),
	}, nil))
}

// Limits the engine enforces on custom_metadata.
const (
	maxCustomKeys     = 64
	maxCustomKeyLen   = 128
	maxCustomValueLen = 512
)

func (v *Vault) writeMetadata(w http.ResponseWriter, k kvKey, body []byte) {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		vaultErr(w, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		return
	}
	var (
		maxVersions *int
		casRequired *bool
		deleteAfter *time.Duration
		custom      map[string]string
	)
	if raw, ok := in["max_versions"]; ok {
		var n int
		if err := json.Unmarshal(raw, &n); err != nil || n < 0 {
			vaultErr(w, http.StatusBadRequest, "error converting input for field \"max_versions\"")
			return
		}
		maxVersions = &n
	}
	if raw, ok := in["cas_required"]; ok {
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			vaultErr(w, http.StatusBadRequest, "error converting input for field \"cas_required\"")
			return
		}
		casRequired = &b
	}
	if raw, ok := in["delete_version_after"]; ok {
		d, err := parseDurationSecond(raw)
		if err != nil || d < 0 {
			vaultErr(w, http.StatusBadRequest, "error converting input for field \"delete_version_after\"")
			return
		}
		deleteAfter = &d
	}
	if raw, ok := in["custom_metadata"]; ok {
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			vaultErr(w, http.StatusBadRequest, "custom_metadata validation failed: custom_metadata must be a map")
			return
		}
		custom = map[string]string{}
		for key, val := range obj {
			switch t := val.(type) {
			case string:
				custom[key] = t
			case nil:
				custom[key] = ""
			case float64, bool:
				custom[key] = fmt.Sprint(t)
			default:
				vaultErr(w, http.StatusBadRequest, fmt.Sprintf("custom_metadata validation failed: value for key %q is not a string", key))
				return
			}
		}
		if msgs := validateCustom(custom); len(msgs) > 0 {
			vaultErr(w, http.StatusBadRequest, strings.Join(msgs, "\n"))
			return
		}
	}
	if maxVersions == nil && casRequired == nil && deleteAfter == nil && custom == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.secrets[k]
	if s == nil {
		s = newKVSecret()
		v.secrets[k] = s
	}
	if maxVersions != nil {
		s.maxVersions = *maxVersions
	}
	if casRequired != nil {
		s.casRequired = *casRequired
	}
	if deleteAfter != nil {
		s.deleteAfter = *deleteAfter
	}
	if custom != nil {
		s.custom = custom
	}
	s.updated = time.Now().UTC()
	w.WriteHeader(http.StatusNoContent)
}

// patchMetadata applies a JSON merge patch (RFC 7386) to a secret's metadata, as
// PATCH /:mount/metadata/:path does: fields absent keep their values, a
// custom_metadata key set to null is removed, the others are set. It needs the
// secret to exist and Content-Type application/merge-patch+json.
func (v *Vault) patchMetadata(w http.ResponseWriter, r *http.Request, k kvKey, body []byte) {
	if ct := r.Header.Get("Content-Type"); ct != "application/merge-patch+json" {
		vaultErr(w, http.StatusUnsupportedMediaType, fmt.Sprintf("PATCH requires Content-Type of application/merge-patch+json, provided %s", ct))
		return
	}
	var in struct {
		MaxVersions    *int               `json:"max_versions"`
		CASRequired    *bool              `json:"cas_required"`
		CustomMetadata map[string]*string `json:"custom_metadata"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		vaultErr(w, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.secrets[k]
	if s == nil {
		vaultErr(w, http.StatusNotFound)
		return
	}
	custom := maps.Clone(s.custom)
	if custom == nil {
		custom = map[string]string{}
	}
	for key, val := range in.CustomMetadata {
		if val == nil {
			delete(custom, key)
		} else {
			custom[key] = *val
		}
	}
	if msgs := validateCustom(custom); len(msgs) > 0 {
		vaultErr(w, http.StatusBadRequest, strings.Join(msgs, "\n"))
		return
	}
	if in.MaxVersions != nil {
		s.maxVersions = *in.MaxVersions
	}
	if in.CASRequired != nil {
		s.casRequired = *in.CASRequired
	}
	s.custom = custom
	s.updated = time.Now().UTC()
	w.WriteHeader(http.StatusNoContent)
}

func parseDurationSecond(raw json.RawMessage) (time.Duration, error) {
	var n float64
	if err := json.Unmarshal(raw, &n); err == nil {
		return time.Duration(n * float64(time.Second)), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, err
	}
	if secs, err := strconv.Atoi(s); err == nil {
		return time.Duration(secs) * time.Second, nil
	}
	return time.ParseDuration(s)
}

func validateCustom(m map[string]string) []string {
	const prefix = "custom_metadata validation failed"
	if len(m) > maxCustomKeys {
		return []string{fmt.Sprintf("%s: payload must contain at most %d keys, provided %d", prefix, maxCustomKeys, len(m))}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		val := m[k]
		if l := len(k); l == 0 || l > maxCustomKeyLen {
			out = append(out, fmt.Sprintf("%s: length of key %q is %d but must be 0 < len(key) <= %d", prefix, k, l, maxCustomKeyLen))
		}
		if l := len(val); l == 0 || l > maxCustomValueLen {
			out = append(out, fmt.Sprintf("%s: length of value for key %q is %d but must be 0 < len(value) <= %d", prefix, k, l, maxCustomValueLen))
		}
		if !printable(k) {
			out = append(out, fmt.Sprintf("%s: key %q contains unprintable characters", prefix, k))
		}
		if !printable(val) {
			out = append(out, fmt.Sprintf("%s: value for key %q contains unprintable characters", prefix, k))
		}
	}
	return out
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
