package apidbtest

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/sha3"

	"github.com/vrwx/vrwxctl/pkg/apidb"
)

// dlqErrorCodes is the error code the API records for each DLQ type.
var dlqErrorCodes = map[string]string{
	"HASH_MISMATCH":        "MANIFEST_HASH_MISMATCH",
	"UPLOAD_FAIL":          "STORAGE_UPLOAD_FAILED",
	"SCHEMA_FAIL":          "SCHEMA_VALIDATION_FAILED",
	"TX_FAIL":              "RELAY_TX_FAILED",
	"DISPUTE_FAIL":         "DISPUTE_TX_FAILED",
	"VALIDATION_FAIL":      "VALIDATION_ERROR",
	"IDEMPOTENCY_CONFLICT": "IDEMPOTENCY_CONFLICT",
}

var dlqReasons = map[string]string{
	"HASH_MISMATCH":        "manifest hash does not match the hash committed on chain",
	"UPLOAD_FAIL":          "manifest upload to storage failed: 503 Service Unavailable",
	"SCHEMA_FAIL":          "payload failed schema validation: /workUnits must be integer",
	"TX_FAIL":              "submitCompletionV2 reverted or was not mined: insufficient funds for gas * price + value",
	"DISPUTE_FAIL":         "openDispute transaction failed: execution reverted",
	"VALIDATION_FAIL":      "robot signature does not recover to the registered controller",
	"IDEMPOTENCY_CONFLICT": "idempotency key reused with a different request hash",
}

var serviceTypes = []string{"inspection", "delivery", "cleaning", "security_patrol", "inventory_scan"}

// TxFailRow pins one TX_FAIL DLQ row the fixture must contain, for tests that replay
// a specific completion. Empty fields get realistic values.
type TxFailRow struct {
	JobID         string // decimal job id
	ManifestHash  string // 0x + 64 hex: the completion hash submitted on chain
	ControllerSig string // 0x + 130 hex: the controller's EIP-712 signature
	RobotID       string // bytes32 hex; empty picks a fixture robot
	ServiceType   string // empty means "inspection"
	QualityScore  *uint64
	WorkUnits     *uint64
	RetryCount    int
	// Body holds webhook body fields set over the generated ones — service sections
	// (inspection, patrol, delivery), artifacts, eventBundle, startTs, endTs. With
	// QualityScore and WorkUnits nil, that is the live API's TX_FAIL payload.
	Body map[string]any
	// Reason is the row's reason text (empty: a generic one). The live API stores
	// ethers' error message verbatim (pkg/dlq/dlqtest builds real ones).
	Reason string
	// NullServiceType leaves service_type NULL, as the live API's TX_FAIL rows have it
	// (the payload's serviceType still says it).
	NullServiceType bool
	// CreatedAt dates the row (zero: some time in the last two weeks).
	CreatedAt time.Time
	// IdempotencyFailed adds the job's idempotency key (base:{chainId}:job:{jobId})
	// as the API leaves it after the failed relay: FAILED with the error's name.
	IdempotencyFailed bool
}

// FixtureOptions sizes a fixture. Zero values get the defaults noted per field.
type FixtureOptions struct {
	Seed             uint64    // 0 means 1; the same seed gives the same rows
	Now              time.Time // zero means time.Now(); rows are dated before it
	ChainID          int64     // 0 means 8453 (Base)
	Tenants          int       // 0 means 4
	RobotsPerTenant  int       // 0 means 3
	APIKeysPerTenant int       // 0 means 2
	ConnectTokens    int       // 0 means one per robot
	JobCompletions   int       // 0 means 200
	IdempotencyKeys  int       // 0 means one per job completion
	Payments         int       // 0 means 50
	// DLQEvents is the number of generated DLQ rows (besides TxFails); 0 means 112,
	// which covers every type in every state twice: resolved as each resolution type,
	// and unresolved with retry_count 0, 1, 2 and 3.
	DLQEvents int
	// TargetBytes, when > 0, keeps adding resolved history (completions, idempotency
	// keys, resolved DLQ rows) until the file holds at least this many bytes.
	TargetBytes int64
	// TxFails are unresolved TX_FAIL rows with fixed values, inserted last.
	TxFails []TxFailRow
	// Progress, if set, is called with the database size as bulk rows are added.
	Progress func(bytes int64)
}

// Fixture describes what BuildFixture wrote.
type Fixture struct {
	Path      string
	ChainID   int64
	TenantIDs []string
	RobotIDs  []string // bytes32 hex robot ids
	Counts    map[string]int64
	TxFailIDs []int64 // dlq_events ids of opts.TxFails, in order
	Bytes     int64
}

// BuildFixture creates a new database at path with the API's schema, opened the
// API's way, and realistic rows in every table. It refuses to touch an existing file.
func BuildFixture(ctx context.Context, path string, opts FixtureOptions) (*Fixture, error) {
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("build fixture: %s already exists", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("build fixture: %w", err)
	}
	opts = opts.withDefaults()
	db, err := apidb.Open(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	// One connection keeps the bulk inserts on one page cache and one transaction.
	db.SetMaxOpenConns(1)
	if err := createSchema(ctx, db, opts.Now.Add(-400*24*time.Hour)); err != nil {
		return nil, err
	}
	g := &gen{rng: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)), now: opts.Now.UnixMilli(), chainID: opts.ChainID}
	f := &Fixture{Path: path, ChainID: opts.ChainID}
	if err := g.fill(ctx, db, opts, f); err != nil {
		return nil, fmt.Errorf("build fixture %s: %w", path, err)
	}
	if f.Counts, err = apidb.RowCounts(ctx, db); err != nil {
		return nil, err
	}
	if f.Bytes, err = dbBytes(ctx, db); err != nil {
		return nil, err
	}
	// Fold the WAL into the main file so the fixture starts like a freshly opened
	// API database; the writers the tests start build a new WAL on top of it.
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return nil, fmt.Errorf("build fixture %s: checkpoint: %w", path, err)
	}
	return f, nil
}

func (o FixtureOptions) withDefaults() FixtureOptions {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.ChainID == 0 {
		o.ChainID = 8453
	}
	def(&o.Tenants, 4)
	def(&o.RobotsPerTenant, 3)
	def(&o.APIKeysPerTenant, 2)
	def(&o.ConnectTokens, o.Tenants*o.RobotsPerTenant)
	def(&o.JobCompletions, 200)
	def(&o.IdempotencyKeys, o.JobCompletions)
	def(&o.Payments, 50)
	def(&o.DLQEvents, 2*len(apidb.DLQTypes)*(len(apidb.ResolutionTypes)+4))
	return o
}

func dbBytes(ctx context.Context, db *sql.DB) (int64, error) {
	var pages, size int64
	if err := db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		return 0, fmt.Errorf("read page_count: %w", err)
	}
	if err := db.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&size); err != nil {
		return 0, fmt.Errorf("read page_size: %w", err)
	}
	return pages * size, nil
}

type robotRow struct{ tenantID, robotID string }

type gen struct {
	rng     *rand.Rand
	now     int64
	chainID int64
	robots  []robotRow
	nextJob int64
}

func (g *gen) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return hex.EncodeToString(b)
}

func (g *gen) b64(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return base64.StdEncoding.EncodeToString(b)
}

func (g *gen) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// ago returns a timestamp up to maxAge before now.
func (g *gen) ago(maxAge time.Duration) int64 {
	return g.now - g.rng.Int64N(int64(maxAge/time.Millisecond)+1)
}

func (g *gen) jobID() string {
	g.nextJob++
	return fmt.Sprint(g.nextJob)
}

func (g *gen) robot() robotRow { return g.robots[g.rng.IntN(len(g.robots))] }

var tenantNames = []string{
	"Acme Robotics", "Northwind Logistics", "Helios Facilities", "Blue Harbor Ports",
	"Kestrel Security", "Orchard Agritech", "Meridian Warehousing", "Polaris Inspection",
}

func (g *gen) fill(ctx context.Context, db *sql.DB, o FixtureOptions, f *Fixture) error {
	g.nextJob = 1000
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := g.tenants(ctx, tx, o, f); err != nil {
		return err
	}
	if err := g.connectTokens(ctx, tx, o.ConnectTokens); err != nil {
		return err
	}
	for i := 0; i < o.JobCompletions; i++ {
		job := g.jobID()
		status := "COMPLETED"
		if i%17 == 5 {
			status = "FAILED"
		}
		if err := g.completion(ctx, tx, job, status, 30*24*time.Hour); err != nil {
			return err
		}
		if i < o.IdempotencyKeys {
			if err := g.idempotencyKey(ctx, tx, job, status); err != nil {
				return err
			}
		}
	}
	for i := o.JobCompletions; i < o.IdempotencyKeys; i++ {
		if err := g.idempotencyKey(ctx, tx, g.jobID(), "PENDING"); err != nil {
			return err
		}
	}
	if err := g.payments(ctx, tx, o.Payments); err != nil {
		return err
	}
	states := len(apidb.ResolutionTypes) + 4
	for i := 0; i < o.DLQEvents; i++ {
		typ := apidb.DLQTypes[i%len(apidb.DLQTypes)]
		state := (i / len(apidb.DLQTypes)) % states
		ev := g.dlqEvent(typ, g.jobID(), "", "", "", nil, nil)
		if state < len(apidb.ResolutionTypes) {
			ev.resolve(g, apidb.ResolutionTypes[state])
		} else {
			ev.retries(g, state-len(apidb.ResolutionTypes))
		}
		if _, err := ev.insert(ctx, tx); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if o.TargetBytes > 0 {
		if err := g.bulk(ctx, db, o); err != nil {
			return err
		}
	}
	for _, t := range o.TxFails {
		id, err := g.txFail(ctx, db, t)
		if err != nil {
			return err
		}
		f.TxFailIDs = append(f.TxFailIDs, id)
	}
	return nil
}

func (g *gen) tenants(ctx context.Context, tx *sql.Tx, o FixtureOptions, f *Fixture) error {
	plans := []struct {
		name        string
		robots, cps int
	}{{"free", 2, 100}, {"starter", 10, 2000}, {"pro", 50, 25000}, {"enterprise", 500, 1000000}}
	for i := 0; i < o.Tenants; i++ {
		id := "tnt_" + g.hex(8)
		name := tenantNames[i%len(tenantNames)]
		if i >= len(tenantNames) {
			name = fmt.Sprintf("%s %d", name, i/len(tenantNames)+1)
		}
		created := g.ago(365 * 24 * time.Hour)
		p := plans[i%len(plans)]
		var cus, sub any
		if p.name != "free" {
			cus, sub = "cus_"+g.hex(7), "sub_"+g.hex(12)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tenants(id, name, created_at, updated_at, plan, stripe_customer_id,
			stripe_subscription_id, plan_robots_limit, plan_completions_limit, completions_this_month, plan_updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, name, created, g.ago(7*24*time.Hour), p.name, cus, sub, p.robots, p.cps, g.rng.IntN(p.cps/2+1), g.ago(60*24*time.Hour)); err != nil {
			return fmt.Errorf("insert tenant: %w", err)
		}
		f.TenantIDs = append(f.TenantIDs, id)
		for k := 0; k < o.APIKeysPerTenant; k++ {
			var revoked any
			if k > 0 && k%2 == 1 {
				revoked = g.ago(10 * 24 * time.Hour)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO api_keys(id, tenant_id, key_hash, prefix, created_at, last_used_at, revoked_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`,
				"key_"+g.hex(8), id, g.hex(32), "vrwx_live_"+g.hex(2), g.ago(200*24*time.Hour), g.ago(24*time.Hour), revoked); err != nil {
				return fmt.Errorf("insert api key: %w", err)
			}
		}
		for r := 0; r < o.RobotsPerTenant; r++ {
			robotName := fmt.Sprintf("unit-%02d", r+1)
			robotID := "0x" + hex.EncodeToString(keccak([]byte(id+":"+robotName)))
			status := "active"
			var regTx, regAt any = "0x" + g.hex(32), g.ago(90 * 24 * time.Hour)
			if r == o.RobotsPerTenant-1 && i%2 == 1 {
				status, regTx, regAt = "pending", nil, nil
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO robots(id, tenant_id, robot_id, controller_address, registered_tx,
				registered_at, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				"rbt_"+g.hex(8), id, robotID, checksumAddress(g.hex(20)), regTx, regAt, status, created, g.ago(30*24*time.Hour)); err != nil {
				return fmt.Errorf("insert robot: %w", err)
			}
			g.robots = append(g.robots, robotRow{tenantID: id, robotID: robotID})
			f.RobotIDs = append(f.RobotIDs, robotID)
		}
	}
	return nil
}

func (g *gen) connectTokens(ctx context.Context, tx *sql.Tx, n int) error {
	for i := 0; i < n; i++ {
		r := g.robots[i%len(g.robots)]
		// The API stores robot secrets encrypted (AES-256-GCM envelope); the fixture
		// mirrors the envelope's shape with random bytes, so a backup really does
		// carry "sensitive" looking data without any real secret in the repository.
		secrets, _ := json.Marshal(map[string]any{
			"v": 1, "alg": "aes-256-gcm", "kid": "kms-" + g.hex(6),
			"iv": g.b64(12), "tag": g.b64(16), "ciphertext": g.b64(180 + g.rng.IntN(120)),
		})
		created := g.ago(20 * 24 * time.Hour)
		var downloaded any
		if i%3 != 0 {
			downloaded = created + g.rng.Int64N(3_600_000)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO connect_tokens(id, tenant_id, robot_id, token, secrets_json, expires_at,
			downloaded_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			"ctk_"+g.hex(8), r.tenantID, r.robotID, "ct_"+strings.TrimRight(base64.URLEncoding.EncodeToString([]byte(g.hex(24))), "="),
			string(secrets), created+24*3_600_000, downloaded, created); err != nil {
			return fmt.Errorf("insert connect token: %w", err)
		}
	}
	return nil
}

// webhookBody is the request body the API's webhook connector receives; DLQ rows keep
// it verbatim as their payload.
func (g *gen) webhookBody(jobID, robotID, serviceType, manifestHash, sig string, quality, units *uint64) map[string]any {
	body := map[string]any{
		"jobId":         jobID,
		"robotId":       robotID,
		"serviceType":   serviceType,
		"manifestHash":  manifestHash,
		"controllerSig": sig,
		"manifest": map[string]any{
			"version":     "1.2",
			"startedAt":   time.UnixMilli(g.now - 3_600_000).UTC().Format(time.RFC3339),
			"completedAt": time.UnixMilli(g.now - 600_000).UTC().Format(time.RFC3339),
			"location":    map[string]any{"lat": 37.0 + g.rng.Float64(), "lng": -122.0 - g.rng.Float64(), "site": "site-" + g.hex(2)},
			"telemetry":   map[string]any{"batteryStart": 90 + g.rng.IntN(10), "batteryEnd": 40 + g.rng.IntN(40), "distanceM": g.rng.IntN(5000)},
			"artifacts": []map[string]any{
				{"kind": "photo", "uri": "s3://vrwx-artifacts/" + g.hex(16) + ".jpg", "sha256": g.hex(32)},
				{"kind": "log", "uri": "s3://vrwx-artifacts/" + g.hex(16) + ".jsonl", "sha256": g.hex(32)},
			},
		},
	}
	if quality != nil {
		body["qualityScore"] = *quality
	}
	if units != nil {
		body["workUnits"] = *units
	}
	return body
}

func (g *gen) completion(ctx context.Context, tx *sql.Tx, job, status string, age time.Duration) error {
	r := g.robot()
	st := g.pick(serviceTypes)
	mh := "0x" + g.hex(32)
	q, u := uint64(60+g.rng.IntN(41)), uint64(1+g.rng.IntN(40))
	payload, _ := json.Marshal(g.webhookBody(job, r.robotID, st, mh, "0x"+g.hex(65), &q, &u))
	created := g.ago(age)
	var txHash any = "0x" + g.hex(32)
	hashMatch := 1
	if status == "FAILED" {
		txHash, hashMatch = nil, 0
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO job_completions(tenant_id, robot_id, job_id, service_type, manifest_hash,
		tx_hash, status, hash_match, payload_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.tenantID, r.robotID, job, st, mh, txHash, status, hashMatch, string(payload), created, created+g.rng.Int64N(30_000)); err != nil {
		return fmt.Errorf("insert job completion: %w", err)
	}
	return nil
}

func (g *gen) idempotencyKey(ctx context.Context, tx *sql.Tx, job, status string) error {
	created := g.ago(2 * 24 * time.Hour)
	var resp, code, msg any
	switch status {
	case "COMPLETED":
		b, _ := json.Marshal(map[string]any{"jobId": job, "status": "COMPLETED", "txHash": "0x" + g.hex(32)})
		resp = string(b)
	case "FAILED":
		code, msg = "RELAY_TX_FAILED", "relayer transaction failed: nonce too low"
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys(key, status, request_hash, manifest_hash, response_json,
		error_code, error_message, created_at, updated_at, ttl_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		fmt.Sprintf("base:%d:job:%s", g.chainID, job), status, "0x"+g.hex(32), "0x"+g.hex(32), resp, code, msg,
		created, created+g.rng.Int64N(60_000), created+24*3_600_000); err != nil {
		return fmt.Errorf("insert idempotency key: %w", err)
	}
	return nil
}

func (g *gen) payments(ctx context.Context, tx *sql.Tx, n int) error {
	tiers := []string{"standard", "premium", "certified"}
	cities := []string{"Austin, TX", "Rotterdam, NL", "Oakland, CA", "Singapore", "Hamburg, DE"}
	for i := 0; i < n; i++ {
		units := 1 + g.rng.IntN(50)
		created := g.ago(90 * 24 * time.Hour)
		status, completed := "paid", any(created+g.rng.Int64N(300_000))
		if i%9 == 4 {
			status, completed = "expired", nil
		} else if i%13 == 7 {
			status, completed = "pending", nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO payments(stripe_session_id, service_type, units, quality_tier, amount_cents,
			status, email, location, created_at, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			"cs_live_"+g.hex(24), g.pick(serviceTypes), units, g.pick(tiers), units*(1500+g.rng.IntN(4000)),
			status, fmt.Sprintf("ops+%s@example.com", g.hex(3)), g.pick(cities), created, completed); err != nil {
			return fmt.Errorf("insert payment: %w", err)
		}
	}
	return nil
}

type dlqEvent struct {
	typ, payload, reason, code, stack, serviceType, jobID, manifestHash string
	retryCount                                                          int
	nextRetry, lastRetry, resolved                                      any
	resolution, notes                                                   any
	created                                                             int64
}

func (g *gen) dlqEvent(typ, job, robotID, manifestHash, sig string, quality, units *uint64) *dlqEvent {
	if robotID == "" {
		robotID = g.robot().robotID
	}
	if manifestHash == "" {
		manifestHash = "0x" + g.hex(32)
	}
	if sig == "" {
		sig = "0x" + g.hex(65)
	}
	st := g.pick(serviceTypes)
	if quality == nil && typ != "SCHEMA_FAIL" {
		q := uint64(60 + g.rng.IntN(41))
		quality = &q
	}
	if units == nil && typ != "SCHEMA_FAIL" {
		u := uint64(1 + g.rng.IntN(40))
		units = &u
	}
	payload, _ := json.Marshal(g.webhookBody(job, robotID, st, manifestHash, sig, quality, units))
	return &dlqEvent{
		typ: typ, payload: string(payload), reason: dlqReasons[typ], code: dlqErrorCodes[typ],
		stack: g.stack(typ), serviceType: st, jobID: job, manifestHash: manifestHash,
		created: g.ago(14 * 24 * time.Hour),
	}
}

func (g *gen) stack(typ string) string {
	fn := map[string]string{
		"TX_FAIL": "RelayService.submitCompletion", "DISPUTE_FAIL": "RelayService.openDispute",
		"UPLOAD_FAIL": "StorageService.putManifest", "HASH_MISMATCH": "CompletionService.verifyManifest",
	}[typ]
	if fn == "" {
		fn = "WebhookConnector.validate"
	}
	return fmt.Sprintf("Error: %s\n    at %s (/app/dist/services/%s.js:%d:%d)\n    at async WebhookConnector.handle (/app/dist/connectors/webhook.js:%d:%d)\n    at async /app/dist/routes/connectors.js:%d:%d",
		dlqReasons[typ], fn, strings.ToLower(strings.Split(fn, ".")[0]), 40+g.rng.IntN(400), 5+g.rng.IntN(30),
		80+g.rng.IntN(200), 9+g.rng.IntN(20), 20+g.rng.IntN(100), 7+g.rng.IntN(20))
}

func (e *dlqEvent) resolve(g *gen, resolution string) {
	e.retryCount = g.rng.IntN(4)
	if e.retryCount > 0 {
		e.lastRetry = e.created + 60_000
	}
	e.resolved = e.created + 3_600_000 + g.rng.Int64N(86_400_000)
	e.resolution = resolution
	e.notes = map[string]string{
		"RETRIED": "replayed by relayer after top-up; tx 0x" + g.hex(32),
		"MANUAL":  "completed by hand with vrwxctl job complete",
		"EXPIRED": "retry window elapsed",
		"SKIPPED": "duplicate of an already completed job",
	}[resolution]
}

// retries sets the row unresolved after n retries with the API's back-off
// (60 s * 2^n, at most 3 retries: after the third there is no next retry).
func (e *dlqEvent) retries(g *gen, n int) {
	e.retryCount = n
	if n > 0 {
		e.lastRetry = e.created + int64(n)*60_000
	}
	if n < 3 {
		base := e.created
		if n > 0 {
			base = e.lastRetry.(int64)
		}
		e.nextRetry = base + 60_000<<n
	}
}

func (e *dlqEvent) insert(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}) (int64, error) {
	res, err := q.ExecContext(ctx, `INSERT INTO dlq_events(type, payload, reason, error_code, error_stack, retry_count,
		next_retry_at, last_retry_at, resolved_at, resolution_type, resolution_notes, connector_type, service_type, job_id,
		manifest_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'webhook', ?, ?, ?, ?)`,
		e.typ, e.payload, e.reason, e.code, e.stack, e.retryCount, e.nextRetry, e.lastRetry, e.resolved, e.resolution,
		e.notes, nullable(e.serviceType), e.jobID, e.manifestHash, e.created)
	if err != nil {
		return 0, fmt.Errorf("insert dlq event: %w", err)
	}
	return res.LastInsertId()
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (g *gen) txFail(ctx context.Context, db *sql.DB, t TxFailRow) (int64, error) {
	if t.JobID == "" {
		t.JobID = g.jobID()
	}
	ev := g.dlqEvent("TX_FAIL", t.JobID, t.RobotID, t.ManifestHash, t.ControllerSig, t.QualityScore, t.WorkUnits)
	if t.QualityScore == nil || t.WorkUnits == nil {
		// The caller asked for a row without these fields: rebuild the payload so a
		// replay has to take them from flags, as it would for an old API version.
		var body map[string]any
		_ = json.Unmarshal([]byte(ev.payload), &body)
		if t.QualityScore == nil {
			delete(body, "qualityScore")
		}
		if t.WorkUnits == nil {
			delete(body, "workUnits")
		}
		b, _ := json.Marshal(body)
		ev.payload = string(b)
	}
	if t.ServiceType != "" || t.Body != nil {
		var body map[string]any
		_ = json.Unmarshal([]byte(ev.payload), &body)
		if t.ServiceType != "" {
			body["serviceType"] = t.ServiceType
			ev.serviceType = t.ServiceType
		}
		for k, v := range t.Body {
			body[k] = v
		}
		b, _ := json.Marshal(body)
		ev.payload = string(b)
	}
	if t.Reason != "" {
		ev.reason = t.Reason
	}
	if t.NullServiceType {
		ev.serviceType = ""
	}
	if !t.CreatedAt.IsZero() {
		ev.created = t.CreatedAt.UnixMilli()
	}
	ev.retries(g, t.RetryCount)
	if t.IdempotencyFailed {
		created := ev.created - 1_000
		if _, err := db.ExecContext(ctx, `INSERT OR REPLACE INTO idempotency_keys(key, status, request_hash, manifest_hash, response_json,
			error_code, error_message, created_at, updated_at, ttl_expires_at) VALUES (?, 'FAILED', ?, ?, NULL, 'Error', ?, ?, ?, ?)`,
			fmt.Sprintf("base:%d:job:%s", g.chainID, t.JobID), "0x"+g.hex(32), ev.manifestHash, clip(ev.reason, 500),
			created, ev.created, created+24*3_600_000); err != nil {
			return 0, fmt.Errorf("insert idempotency key: %w", err)
		}
	}
	return ev.insert(ctx, db)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// bulk adds history in batches until the file reaches o.TargetBytes.
func (g *gen) bulk(ctx context.Context, db *sql.DB, o FixtureOptions) error {
	for {
		size, err := dbBytes(ctx, db)
		if err != nil {
			return err
		}
		if o.Progress != nil {
			o.Progress(size)
		}
		if size >= o.TargetBytes {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for i := 0; i < 2000; i++ {
			job := g.jobID()
			if err := g.completion(ctx, tx, job, "COMPLETED", 365*24*time.Hour); err != nil {
				tx.Rollback()
				return err
			}
			if err := g.idempotencyKey(ctx, tx, job, "COMPLETED"); err != nil {
				tx.Rollback()
				return err
			}
			ev := g.dlqEvent(apidb.DLQTypes[i%len(apidb.DLQTypes)], job, "", "", "", nil, nil)
			ev.resolve(g, apidb.ResolutionTypes[i%len(apidb.ResolutionTypes)])
			if _, err := ev.insert(ctx, tx); err != nil {
				tx.Rollback()
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
}

func keccak(b []byte) []byte {
	h := sha3.NewLegacyKeccak256()
	h.Write(b)
	return h.Sum(nil)
}

// checksumAddress applies EIP-55 mixed-case checksumming to a 40-hex-digit address.
func checksumAddress(lowerHex string) string {
	sum := hex.EncodeToString(keccak([]byte(lowerHex)))
	out := []byte(lowerHex)
	for i, c := range out {
		if c >= 'a' && c <= 'f' && sum[i] >= '8' {
			out[i] = c - 32
		}
	}
	return "0x" + string(out)
}

// createSchema creates the API's schema and dates the seven migrations as a deploy at
// appliedAt would have, a minute apart, so a fixture's history predates its rows.
func createSchema(ctx context.Context, db *sql.DB, appliedAt time.Time) error {
	if err := apidb.CreateSchema(ctx, db); err != nil {
		return err
	}
	last := appliedAt.UnixMilli()
	if _, err := db.ExecContext(ctx, `UPDATE _migrations SET applied_at = ? - (7 - id) * 60000`, last); err != nil {
		return fmt.Errorf("date migrations: %w", err)
	}
	return nil
}
