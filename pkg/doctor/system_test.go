package doctor

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/history"
	"github.com/vrwx/vrwxctl/pkg/monitor"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
)

// A healthy system is judged section by section in the report's order, every line
// ok or for information, none with a fix.
func TestSystemChecksHealthy(t *testing.T) {
	checks := SystemChecks(healthy(), production())
	if Worst(checks) != OK {
		t.Fatalf("worst %s:\n%s", Worst(checks), listChecks(checks))
	}
	var sections []string
	for _, c := range checks {
		if c.Fix != "" {
			t.Errorf("%s/%s offers a fix on a healthy system: %q", c.Section, c.Name, c.Fix)
		}
		if len(sections) == 0 || sections[len(sections)-1] != c.Section {
			sections = append(sections, c.Section)
		}
	}
	if want := []string{"relayer", "gas", "chain", "rpc", "contracts", "api", "keys", "database", "backup"}; !slices.Equal(sections, want) {
		t.Errorf("sections %v, want %v", sections, want)
	}
	for _, w := range []want{
		{section: "relayer", name: "balance", level: OK, value: "1 ETH", detail: []string{relayerAddr.Hex(), "warning below 0.2 ETH, critical below 0.05 ETH"}},
		{section: "relayer", name: "nonce", level: OK, value: "latest 10, pending 10", detail: []string{"no transactions waiting"}},
		{section: "relayer", name: "runway", level: OK, value: "100.0 days", detail: []string{"at 0.01 ETH/day", "5 transaction(s) since block 900 (24.0 hours)", "warning below 7 days, critical below 2"}},
		{section: "gas", name: "gas price", level: OK, value: "1 gwei"},
		{section: "gas", name: "base fee", level: OK, value: "1 gwei"},
		{section: "gas", name: "fee cap", level: OK, value: "50 gwei", detail: []string{"base fee 1 gwei"}},
		{section: "chain", name: "head", level: OK, value: "#1000, 2s old"},
		{section: "rpc", name: "#0 (first)", level: OK, value: "head #1000, 0 behind", detail: []string{"http://rpc-a · 3ms"}},
		{section: "rpc", name: "#1", level: OK, value: "head #1000, 0 behind"},
		{section: "contracts", name: "escrow code", level: OK, value: "2 bytes"},
		{section: "contracts", name: "registry code", level: OK, value: "2 bytes"},
		{section: "contracts", name: "paused", level: OK, value: "false"},
		{section: "contracts", name: "jobCount", level: Info, value: "12"},
		{section: "api", name: "/health", level: OK, value: "ok"},
		{section: "api", name: "chainId", level: OK, value: "31337"},
		{section: "api", name: "relayerAddress", level: OK, value: relayerAddr.Hex(), detail: []string{"(profile relayer)"}},
		{section: "api", name: "latency", level: OK, value: "20ms"},
		{section: "keys", name: "current key", level: OK, value: relayerAddr.Hex(), detail: []string{"aws-sm://relayer · the API relays from it"}},
		{section: "database", name: "DLQ depth", level: OK, value: "3 unresolved", detail: []string{"warning > 10, critical > 50 · /data/vrwx.db"}},
		{section: "backup", name: "newest backup", level: OK, value: "1.0 hours old", detail: []string{"vrwx-20260301T110000Z.db.gz · warning above 2h0m0s, critical above 25h0m0s"}},
	} {
		w.check(t, checks)
	}
}

// Each case breaks the healthy system in one place; the line that says so is read
// as an operator reads it — level, value, what the detail names, the fix.
func TestSystemChecksJudgeEachSection(t *testing.T) {
	topUp := "vrwxctl wallet fund --to " + relayerAddr.Hex() + " --amount 0.5ether --signer <treasury-ref>"
	// A balance set by hand comes without a spend window: the runway is not judged.
	setBalance := func(s *System, v string) { s.relayer().Balance, s.relayer().Spend = eth(v), nil }
	retired := &Retired{Store: "aws-sm://relayer", Version: "v1", Current: otherAddr, Ref: "aws-sm://relayer?version=v1"}
	for _, c := range []struct {
		name   string
		change func(s *System, t *SystemThresholds)
		worst  Level
		want   []want
		absent []string // section/name lines the report must not have
	}{
		// relayer
		{"no relayer known", func(s *System, _ *SystemThresholds) { s.Relayer = common.Address{}; s.Readings.Relayers = nil }, Warn,
			[]want{{section: "relayer", name: "relayer", level: Warn, value: "none", fix: []string{"pass --address or --signer"}}},
			[]string{"relayer/balance"}},
		{"relayer unreadable", func(s *System, _ *SystemThresholds) { s.relayer().Err = errors.New("connection refused") }, Crit,
			[]want{{section: "relayer", name: "relayer", level: Crit, value: "unreadable", detail: []string{"connection refused"}, fix: []string{"switch to the backup RPC"}}},
			[]string{"relayer/balance"}},
		{"balance at the warning line is ok", func(s *System, _ *SystemThresholds) { setBalance(s, "0.2") }, OK,
			[]want{{section: "relayer", name: "balance", level: OK, value: "0.2 ETH", noFix: true}}, nil},
		{"balance below the warning line", func(s *System, _ *SystemThresholds) { setBalance(s, "0.1") }, Warn,
			[]want{{section: "relayer", name: "balance", level: Warn, value: "0.1 ETH", fix: []string{"top up the relayer: " + topUp}}}, nil},
		{"balance at the critical line warns", func(s *System, _ *SystemThresholds) { setBalance(s, "0.05") }, Warn,
			[]want{{section: "relayer", name: "balance", level: Warn}}, nil},
		{"balance below the critical line", func(s *System, _ *SystemThresholds) { setBalance(s, "0.01") }, Crit,
			[]want{{section: "relayer", name: "balance", level: Crit, value: "0.01 ETH", fix: []string{"runbook: relayer out of gas — top up immediately: " + topUp}}}, nil},
		{"the alert rule's 0.1 ETH line, configured", func(s *System, t *SystemThresholds) {
			t.Relayer.BalanceCrit, t.Relayer.BalanceWarn = eth("0.1"), eth("0.5")
			setBalance(s, "0.09")
		}, Crit, []want{{section: "relayer", name: "balance", level: Crit, detail: []string{"critical below 0.1 ETH"}, fix: []string{topUp}}}, nil},
		{"retired relayer still holding ETH", func(s *System, _ *SystemThresholds) { s.Retired = retired; setBalance(s, "0.01") }, OK,
			[]want{{section: "relayer", name: "balance", level: Info, value: "0.01 ETH",
				detail: []string{"retired relayer: version v1 of aws-sm://relayer is no longer current (the relayer runs on " + otherAddr.Hex() + "); do not fund it"},
				fix:    []string{"return what is left to the treasury: vrwxctl wallet drain --signer aws-sm://relayer?version=v1"}}},
			[]string{"relayer/runway"}},
		{"retired relayer drained", func(s *System, _ *SystemThresholds) { s.Retired = retired; s.relayer().Balance = eth("0") }, OK,
			[]want{{section: "relayer", name: "balance", level: Info, value: "0 ETH", detail: []string{"do not fund it"}, noFix: true}}, nil},
		{"transactions waiting in the mempool", func(s *System, _ *SystemThresholds) { s.relayer().NoncePending = 12 }, Warn,
			[]want{{section: "relayer", name: "nonce", level: Warn, value: "latest 10, pending 12",
				detail: []string{"2 transaction(s) waiting in the mempool (nonces 10..11)"}, fix: []string{"vrwxctl tx speedup --nonce 10 --signer <relayer-ref> (or tx cancel)"}}}, nil},
		{"txpool not exposed", func(s *System, _ *SystemThresholds) {
			s.relayer().Pool = &history.Pool{Err: errors.New("the method txpool_contentFrom does not exist")}
		}, OK, []want{{section: "relayer", name: "txpool", level: Info, value: "not exposed", detail: []string{"does not exist: stuck and queued transactions cannot be listed"}}}, nil},
		{"a pending transaction priced above the base fee is not stuck", func(s *System, _ *SystemThresholds) {
			s.relayer().NoncePending = 11
			s.relayer().Pool = &history.Pool{Known: true, Pending: []history.Tx{pendingTx(10, gwei("2"))}}
		}, Warn, []want{{section: "relayer", name: "nonce", level: Warn}}, []string{"relayer/stuck", "relayer/nonce gap"}},
		{"a pending transaction priced below the base fee is stuck", func(s *System, _ *SystemThresholds) {
			s.Readings.Gas.BaseFee = gwei("3")
			s.relayer().NoncePending = 12
			s.relayer().Pool = &history.Pool{Known: true, Pending: []history.Tx{pendingTx(10, gwei("2")), pendingTx(11, gwei("5"))}}
		}, Crit, []want{{section: "relayer", name: "stuck", level: Crit, value: "1 underpriced",
			detail: []string{"fee cap below the base fee 3 gwei, cannot be mined: nonce 10 (" + pendingTx(10, nil).Hash.Hex() + ", cap 2 gwei)"},
			fix:    []string{"vrwxctl tx speedup --nonce 10 --signer <relayer-ref> (fees +12.5%"}}}, nil},
		{"one missing nonce", func(s *System, _ *SystemThresholds) {
			s.relayer().Pool = &history.Pool{Known: true, Queued: []history.Tx{pendingTx(11, gwei("2"))}}
		}, Crit, []want{{section: "relayer", name: "nonce gap", level: Crit, value: "1 queued",
			detail: []string{"nonce 10 never reached the node (or were dropped); queued nonces 11 wait behind it"},
			fix:    []string{"fill nonce 10: any transaction from the relayer takes it — vrwxctl wallet fund --to " + relayerAddr.Hex() + " --amount 1wei --signer <relayer-ref>"}}}, nil},
		{"several missing nonces", func(s *System, _ *SystemThresholds) {
			s.relayer().Pool = &history.Pool{Known: true, Queued: []history.Tx{pendingTx(13, gwei("2")), pendingTx(14, gwei("2"))}}
		}, Crit, []want{{section: "relayer", name: "nonce gap", level: Crit, value: "2 queued",
			detail: []string{"nonces 10..12 never reached the node", "queued nonces 13, 14"}, fix: []string{"fill nonces 10..12"}}}, nil},

		// gas
		{"gas unreadable", func(s *System, _ *SystemThresholds) { s.Readings.Gas = monitor.Gas{Err: errors.New("timeout")} }, Crit,
			[]want{{section: "gas", name: "gas price", level: Crit, value: "unreadable", detail: []string{"timeout"}, fix: []string{"switch to the backup RPC"}}},
			[]string{"gas/base fee", "gas/fee cap"}},
		{"gas above the warning line", func(s *System, _ *SystemThresholds) { s.Readings.Gas.Price = gwei("60") }, Warn,
			[]want{{section: "gas", name: "gas price", level: Warn, value: "60 gwei", detail: []string{"warning above 50 gwei, critical above 100 gwei"}, fix: []string{"review gas settings"}}}, nil},
		{"base fee above the critical line, and above the fee cap", func(s *System, _ *SystemThresholds) { s.Readings.Gas.BaseFee = gwei("150") }, Crit,
			[]want{
				{section: "gas", name: "base fee", level: Crit, value: "150 gwei", fix: []string{"runbook: high gas prices"}},
				{section: "gas", name: "fee cap", level: Crit, value: "50 gwei", detail: []string{"base fee 150 gwei is at or above MAX_FEE_PER_GAS_GWEI: relay transactions cannot be mined"},
					fix: []string{"increase MAX_FEE_PER_GAS_GWEI above the base fee", "tx speedup"}},
			}, nil},
		{"fee cap equal to the base fee", func(s *System, t *SystemThresholds) { t.Relayer.MaxFeeCap = gwei("1") }, Crit,
			[]want{{section: "gas", name: "fee cap", level: Crit, value: "1 gwei"}}, nil},
		{"no base fee before London", func(s *System, _ *SystemThresholds) { s.Readings.Gas.BaseFee = nil }, OK, nil, []string{"gas/base fee", "gas/fee cap"}},
		{"no fee cap configured", func(s *System, t *SystemThresholds) { t.Relayer.MaxFeeCap = nil }, OK, nil, []string{"gas/fee cap"}},

		// chain
		{"head unreadable", func(s *System, _ *SystemThresholds) { s.Readings.Head = monitor.Head{Err: errors.New("no block")} }, Crit,
			[]want{{section: "chain", name: "head", level: Crit, value: "unreadable", fix: []string{"switch to the backup RPC"}}}, nil},
		{"head three minutes old", func(s *System, _ *SystemThresholds) { s.Readings.Head.Time = now.Add(-3 * time.Minute) }, Warn,
			[]want{{section: "chain", name: "head", level: Warn, value: "#1000, 3m0s old", fix: []string{"compare with a backup RPC (--rpc-url)"}}}, nil},
		{"head eleven minutes old", func(s *System, _ *SystemThresholds) { s.Readings.Head.Time = now.Add(-11 * time.Minute) }, Crit,
			[]want{{section: "chain", name: "head", level: Crit, fix: []string{"the RPC node is not following the chain"}}}, nil},
		{"head age not judged (the local profile)", func(s *System, t *SystemThresholds) {
			t.Relayer.HeadAgeWarn, t.Relayer.HeadAgeCrit = 0, 0
			s.Readings.Head.Time = now.Add(-time.Hour)
		}, OK, []want{{section: "chain", name: "head", level: Info, value: "#1000, 1h0m0s old", detail: []string{"head age not judged on this profile"}}}, nil},
		{"a head ahead of the clock is no age", func(s *System, _ *SystemThresholds) { s.Readings.Head.Time = now.Add(5 * time.Second) }, OK,
			[]want{{section: "chain", name: "head", level: OK, value: "#1000, 0s old"}}, nil},

		// contracts
		{"escrow code unreadable", func(s *System, _ *SystemThresholds) { s.Readings.Contracts.CodeErr = errors.New("timeout") }, Crit,
			[]want{{section: "contracts", name: "escrow code", level: Crit, value: "unreadable"}}, nil},
		{"no escrow bytecode", func(s *System, _ *SystemThresholds) { s.Readings.Contracts.Code = nil }, Crit,
			[]want{{section: "contracts", name: "escrow code", level: Crit, value: "no bytecode", detail: []string{"JobEscrow " + escrowAddr.Hex() + " has no code"}, fix: []string{"set JOB_ESCROW_ADDRESS"}}},
			[]string{"contracts/paused"}},
		{"no registry bytecode", func(s *System, _ *SystemThresholds) { s.Readings.Contracts.IdentityCode = nil }, Crit,
			[]want{{section: "contracts", name: "registry code", level: Crit, value: "no bytecode", fix: []string{"set IDENTITY_REGISTRY_ADDRESS"}}}, nil},
		{"registry code unreadable", func(s *System, _ *SystemThresholds) { s.Readings.Contracts.IdentityCodeErr = errors.New("timeout") }, Crit,
			[]want{{section: "contracts", name: "registry code", level: Crit, value: "unreadable"}}, nil},
		{"paused escrow", func(s *System, _ *SystemThresholds) { s.Readings.Contracts.Paused = word(1) }, Crit,
			[]want{{section: "contracts", name: "paused", level: Crit, value: "true", fix: []string{"contact the admin to unpause"}}}, nil},
		{"an escrow without a pause switch", func(s *System, _ *SystemThresholds) {
			s.Readings.Contracts.Paused, s.Readings.Contracts.PausedErr = nil, errors.New("execution reverted")
		}, OK, []want{{section: "contracts", name: "paused", level: Info, value: "no pause switch", detail: []string{"cannot be paused"}}}, nil},
		{"no job count", func(s *System, _ *SystemThresholds) { s.Readings.Escrow.Err = errors.New("reverted") }, OK, nil, []string{"contracts/jobCount"}},

		// api
		{"no API configured", func(s *System, _ *SystemThresholds) { s.Readings.API = nil }, OK,
			[]want{{section: "api", name: "/health", level: Info, value: "not configured", detail: []string{"pass --api-url, or set VRWX_API_URL"}}},
			[]string{"api/chainId"}},
		{"API down", func(s *System, _ *SystemThresholds) {
			s.Readings.API = &monitor.API{URL: "http://api", Err: errors.New("connection refused")}
		}, Crit, []want{
			{section: "api", name: "/health", level: Crit, value: "down", detail: []string{"http://api: connection refused"}, fix: []string{"kubectl get pods -l app=vrwx-api"}},
			{section: "keys", name: "current key", level: Info, detail: []string{"not compared: the API did not answer"}},
		}, []string{"api/chainId"}},
		{"API unhealthy", func(s *System, _ *SystemThresholds) {
			s.Readings.API.Health.Status, s.Readings.API.Up, s.Readings.API.Err = "degraded", false, errors.New(`status "degraded"`)
		}, Crit, []want{{section: "api", name: "/health", level: Crit, value: `status "degraded"`, fix: []string{"kubectl logs -l app=vrwx-api"}}}, nil},
		{"API on another chain", func(s *System, _ *SystemThresholds) { s.Readings.API.Health.ChainID = 8453 }, Crit,
			[]want{{section: "api", name: "chainId", level: Crit, value: "8453", detail: []string{"profile chain 31337"},
				fix: []string{"the API relays on chain 8453, the profile is chain 31337", "DEFAULT_CHAIN_ID"}}}, nil},
		{"API in self-submit mode", func(s *System, _ *SystemThresholds) {
			s.Readings.API.Health.RelayMode, s.Readings.API.Health.RelayerAddress = "selfSubmit", nil
		}, OK, []want{
			{section: "api", name: "relayerAddress", level: Info, value: "null", detail: []string{"relayMode selfSubmit: the API does not relay"}},
			{section: "keys", name: "current key", level: Info, detail: []string{"the API does not relay (relayMode selfSubmit)"}},
		}, nil},
		{"API relaying from another key: a rotation half done", func(s *System, _ *SystemThresholds) { s.Readings.API.Health.RelayerAddress = &otherAddr }, Crit,
			[]want{
				{section: "api", name: "relayerAddress", level: Crit, value: otherAddr.Hex(), detail: []string{"the relayer checked here is " + relayerAddr.Hex() + " (profile relayer)"},
					fix: []string{"kubectl rollout restart deployment/vrwx-api"}},
				{section: "keys", name: "current key", level: Crit, value: relayerAddr.Hex(), detail: []string{"the API relays from " + otherAddr.Hex() + ": a rotation half done"},
					fix: []string{"kubectl rollout restart deployment/vrwx-api", "vrwxctl key rollback --store aws-sm://relayer"}},
			}, nil},
		{"a retired relayer checked while the API relays from the current key", func(s *System, _ *SystemThresholds) {
			s.Retired = retired
			s.Readings.API.Health.RelayerAddress = &otherAddr
			s.Readings.Store.Address = otherAddr
		}, OK, []want{{section: "api", name: "relayerAddress", level: OK, value: otherAddr.Hex(), detail: []string{"the relayer checked here is retired"}}}, nil},
		{"no relayer to compare the API's with", func(s *System, _ *SystemThresholds) { s.Relayer = common.Address{} }, Warn,
			[]want{{section: "api", name: "relayerAddress", level: Info, detail: []string{"no relayer configured to compare with"}}}, nil},
		{"API slower than the warning line", func(s *System, _ *SystemThresholds) { s.Readings.API.Latency = 3 * time.Second }, Warn,
			[]want{{section: "api", name: "latency", level: Warn, value: "3s", detail: []string{"warning above 2s, critical above 5s"}, fix: []string{"runbook: API latency"}}}, nil},
		{"API slower than the critical line", func(s *System, _ *SystemThresholds) { s.Readings.API.Latency = 6 * time.Second }, Crit,
			[]want{{section: "api", name: "latency", level: Crit, fix: []string{"kubectl top pods"}}}, nil},

		// keys
		{"secret store unreadable", func(s *System, _ *SystemThresholds) { s.Readings.Store.Err = errors.New("AccessDenied") }, Crit,
			[]want{{section: "keys", name: "current key", level: Crit, value: "unreadable", detail: []string{"aws-sm://relayer: AccessDenied"}, fix: []string{"check the store's credentials and the reference (vrwxctl key versions --store aws-sm://relayer)"}}}, nil},
		{"no signer, no key line", func(s *System, _ *SystemThresholds) { s.Readings.Store = nil }, OK, nil, []string{"keys/current key"}},

		// database
		{"DLQ above the warning line", func(s *System, _ *SystemThresholds) { s.Readings.DLQ.Summary.Depth = 11 }, Warn,
			[]want{{section: "database", name: "DLQ depth", level: Warn, value: "11 unresolved", fix: []string{"vrwxctl dlq list --unresolved"}}}, nil},
		{"DLQ above the critical line", func(s *System, _ *SystemThresholds) { s.Readings.DLQ.Summary.Depth = 51 }, Crit,
			[]want{{section: "database", name: "DLQ depth", level: Crit, value: "51 unresolved", detail: []string{"/data/vrwx.db"}, fix: []string{"vrwxctl dlq replay ID --signer REF"}}}, nil},
		{"database unreadable", func(s *System, _ *SystemThresholds) {
			s.Readings.DLQ = &monitor.DLQ{Path: "/data/absent.db", Err: errors.New("unable to open database file")}
		}, Crit, []want{{section: "database", name: "DLQ depth", level: Crit, value: "unreadable", fix: []string{"check --db / DATABASE_PATH"}}}, nil},
		{"no database, no DLQ line", func(s *System, _ *SystemThresholds) { s.Readings.DLQ = nil }, OK, nil, []string{"database/DLQ depth"}},

		// backup
		{"backup older than the warning line", func(s *System, _ *SystemThresholds) { s.Readings.Backup.Newest.Age = 3 * time.Hour }, Warn,
			[]want{{section: "backup", name: "newest backup", level: Warn, value: "3.0 hours old", fix: []string{"backups have stopped: check the CronJob", "vrwxctl db backup --db /data/vrwx.db --out s3://backups/vrwx"}}}, nil},
		{"backup older than the critical line", func(s *System, _ *SystemThresholds) { s.Readings.Backup.Newest.Age = 60 * time.Hour }, Crit,
			[]want{{section: "backup", name: "newest backup", level: Crit, value: "2.5 days old"}}, nil},
		{"no backup at the location", func(s *System, _ *SystemThresholds) { s.Readings.Backup.Newest = nil }, Crit,
			[]want{{section: "backup", name: "newest backup", level: Crit, value: "none", fix: []string{"no backup there: vrwxctl db backup --db /data/vrwx.db --out s3://backups/vrwx", "kubectl get cronjob"}}}, nil},
		{"backup location unreadable", func(s *System, _ *SystemThresholds) {
			s.Readings.Backup = &monitor.Backup{Location: "s3://backups/vrwx", Err: errors.New("AccessDenied")}
		}, Crit, []want{{section: "backup", name: "newest backup", level: Crit, value: "unreadable", detail: []string{"s3://backups/vrwx: AccessDenied"},
			fix: []string{"vrwxctl db list s3://backups/vrwx"}}}, nil},
		{"backup age of a clock ahead of ours is no age", func(s *System, _ *SystemThresholds) { s.Readings.Backup.Newest.Age = -time.Minute }, OK,
			[]want{{section: "backup", name: "newest backup", level: OK, value: "0s old"}}, nil},

		// litestream's replica, when one is read
		{"a replica a minute behind", func(s *System, _ *SystemThresholds) { s.Readings.Replica = replica(time.Minute) }, OK,
			[]want{{section: "backup", name: "litestream replica", level: OK, value: "1m0s behind",
				detail: []string{"s3://replica/vrwx · transaction 00000000000004d2 replicated at 2026-03-01T11:59:00Z · warning above 15m0s, critical above 1h0m0s (RPO)"}, noFix: true}}, nil},
		{"a replica behind the warning line", func(s *System, _ *SystemThresholds) { s.Readings.Replica = replica(20 * time.Minute) }, Warn,
			[]want{{section: "backup", name: "litestream replica", level: Warn, value: "20m0s behind", fix: []string{"kubectl logs deployment/vrwx-api -c litestream"}}}, nil},
		{"a replica behind the RPO", func(s *System, _ *SystemThresholds) { s.Readings.Replica = replica(2 * time.Hour) }, Crit,
			[]want{{section: "backup", name: "litestream replica", level: Crit, value: "2.0 hours behind"}}, nil},
		{"a replica unreadable", func(s *System, _ *SystemThresholds) {
			s.Readings.Replica = &monitor.Replica{Location: "s3://replica/vrwx", Err: errors.New("AccessDenied")}
		}, Crit, []want{{section: "backup", name: "litestream replica", level: Crit, value: "unreadable", fix: []string{"vrwxctl db list s3://replica/vrwx"}}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, th := healthy(), production()
			c.change(&s, &th)
			checks := SystemChecks(s, th)
			if Worst(checks) != c.worst {
				t.Errorf("worst %s, want %s:\n%s", Worst(checks), c.worst, listChecks(checks))
			}
			for _, w := range c.want {
				w.check(t, checks)
			}
			for _, a := range c.absent {
				section, name, _ := strings.Cut(a, "/")
				if has(checks, section, name) {
					t.Errorf("has a %s line:\n%s", a, listChecks(checks))
				}
			}
		})
	}
}

// replica is litestream's replica of the database, its newest position behind by age.
func replica(behind time.Duration) *monitor.Replica {
	return &monitor.Replica{Location: "s3://replica/vrwx", Age: behind,
		Info: &sqlitebackup.ReplicaInfo{Latest: now.Add(-behind), MaxTXID: "00000000000004d2"}}
}

// The RPC lines: a first URL that is down or lags while a backup is fine is the
// runbook's "RPC node issues" with its fix, switch to the backup; a backup that
// fails is to be replaced; none answering is critical.
func TestRPCChecks(t *testing.T) {
	up := func(i int, head, lag uint64) monitor.RPC {
		return monitor.RPC{Index: i, URL: []string{"http://rpc-a", "http://rpc-b", "http://rpc-c"}[i], Up: true, Head: head, Lag: lag, Latency: time.Millisecond}
	}
	down := func(i int) monitor.RPC {
		return monitor.RPC{Index: i, URL: []string{"http://rpc-a", "http://rpc-b", "http://rpc-c"}[i], Err: errors.New("connection refused")}
	}
	for _, c := range []struct {
		name string
		rpcs []monitor.RPC
		want []want
	}{
		{"first down, backup up", []monitor.RPC{down(0), up(1, 1000, 0)}, []want{
			{name: "#0 (first)", level: Warn, value: "down", detail: []string{"http://rpc-a: connection refused"},
				fix: []string{"vrwxctl fails over to http://rpc-b; the API may not", "switch to the backup RPC: give it first"}},
			{name: "#1", level: OK, value: "head #1000, 0 behind"},
		}},
		{"backup down", []monitor.RPC{up(0, 1000, 0), down(1)}, []want{
			{name: "#0 (first)", level: OK},
			{name: "#1", level: Warn, value: "down", fix: []string{"this backup cannot take over: fix or replace it"}},
		}},
		{"none answers: the fix once, on the first", []monitor.RPC{down(0), down(1)}, []want{
			{name: "#0 (first)", level: Crit, value: "down", fix: []string{"no RPC answers"}},
			{name: "#1", level: Crit, value: "down", noFix: true},
		}},
		{"first 60 blocks behind the backup", []monitor.RPC{up(0, 940, 60), up(1, 1000, 0)}, []want{
			{name: "#0 (first)", level: Crit, value: "head #940, 60 behind", detail: []string{"warning above 5 blocks behind, critical above 50"},
				fix: []string{"the first RPC lags #1 (http://rpc-b)", "switch to the backup RPC"}},
		}},
		{"first 10 blocks behind", []monitor.RPC{up(0, 990, 10), up(1, 1000, 0)}, []want{
			{name: "#0 (first)", level: Warn, value: "head #990, 10 behind", fix: []string{"the first RPC lags #1"}},
		}},
		{"first 5 blocks behind is within the line", []monitor.RPC{up(0, 995, 5), up(1, 1000, 0)}, []want{
			{name: "#0 (first)", level: OK},
		}},
		{"a backup lagging", []monitor.RPC{up(0, 1000, 0), up(1, 1000, 0), up(2, 900, 100)}, []want{
			{name: "#2", level: Crit, fix: []string{"this RPC lags: replace it"}},
		}},
		{"the only RPC lagging cannot be switched from", []monitor.RPC{up(0, 900, 100), down(1)}, []want{
			{name: "#0 (first)", level: Crit, fix: []string{"this RPC lags: replace it"}},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			checks := RPCChecks(c.rpcs, production())
			if len(checks) != len(c.rpcs) {
				t.Fatalf("%d lines for %d RPCs", len(checks), len(c.rpcs))
			}
			for _, w := range c.want {
				w.check(t, checks)
			}
		})
	}
}

// The runway is the balance over the spend rate of the window the readings reach
// back to; it is judged only when the account sent something and spent.
func TestRunwayCheck(t *testing.T) {
	day := 24 * time.Hour
	spend := func(ago time.Duration, balance string, nonce uint64) *monitor.Spend {
		return &monitor.Spend{Block: 900, Time: now.Add(-ago), Balance: eth(balance), Nonce: nonce}
	}
	fix := []string{"top up before it runs out: vrwxctl wallet fund --to " + relayerAddr.Hex()}
	for _, c := range []struct {
		name    string
		balance string
		nonce   uint64
		spend   *monitor.Spend
		err     error
		want    want
	}{
		{"no past balance", "1", 10, nil, errors.New("missing trie node"),
			want{level: Info, value: "unknown", detail: []string{"no past balance to compare with: missing trie node"}}},
		{"no window asked for", "1", 10, nil, nil, want{level: Info, value: "not read", detail: []string{"no spend window asked for"}}},
		{"a window no older than the head", "1", 10, spend(0, "2", 5), nil, want{level: Info, value: "unknown", detail: []string{"block 900 is no older than the head"}}},
		{"nothing sent", "0.1", 10, spend(day, "0.1", 10), nil, want{level: OK, value: "no spend", detail: []string{"no transactions since block 900 (24.0 hours)"}}},
		{"a top-up hides the spend", "2", 10, spend(day, "1", 5), nil,
			want{level: Info, value: "unknown", detail: []string{"5 transaction(s) since block 900 (24.0 hours), but the balance rose (a top-up)"}}},
		{"9 of 10 ETH spent in a day", "1", 10, spend(day, "10", 5), nil,
			want{level: Crit, value: "0.1 days", detail: []string{"at 9 ETH/day (9 ETH in 5 transaction(s) since block 900 (24.0 hours))"}, fix: fix}},
		{"five days left", "5", 10, spend(day, "6", 5), nil, want{level: Warn, value: "5.0 days", fix: fix}},
		{"a spend over hours", "1", 10, spend(6*time.Hour, "1.1", 5), nil, want{level: Warn, value: "2.5 days", detail: []string{"(6.0 hours)"}, fix: fix}},
		{"a century at most", "1000000", 10, spend(day, "1000000.000000000000000001", 5), nil, want{level: OK, value: "36500.0 days"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rl := monitor.Relayer{Address: relayerAddr, Balance: eth(c.balance), NonceLatest: c.nonce, Spend: c.spend, SpendErr: c.err}
			w := c.want
			w.section, w.name = "", "runway"
			w.check(t, []Check{RunwayCheck(rl, now, production(), "")})
		})
	}
}

// The DLQ line of the whole-system report is the DLQ's depth check, renamed, with
// the database it was read from.
func TestSystemDLQLineIsTheDepthCheck(t *testing.T) {
	s := healthy()
	s.Readings.DLQ.Summary = dlq.Summary{Depth: 51}
	d := DLQChecks(s.Readings.DLQ.Summary, 10, 50)[0]
	c := find(t, SystemChecks(s, production()), "database", "DLQ depth")
	if c.Level != d.Level || c.Value != d.Value || c.Fix != d.Fix || c.Detail != d.Detail+" · /data/vrwx.db" {
		t.Errorf("database line %+v, depth check %+v", c, d)
	}
}

// Fixes run as printed: with the signer references the operator gave (flag or
// profile) they name them, without them a placeholder says what goes there.
func TestSystemFixesNameTheReferencesGiven(t *testing.T) {
	s := healthy()
	s.relayer().Balance, s.relayer().Spend, s.relayer().NoncePending = eth("0.01"), nil, 12
	s.relayer().Pool = &history.Pool{Known: true, Queued: []history.Tx{pendingTx(13, gwei("2"))}}
	s.Readings.Gas.BaseFee = gwei("60")
	placeholders := SystemChecks(s, production())
	s.RelayerRef, s.TreasuryRef = "aws-sm://relayer", "aws-sm://treasury"
	named := SystemChecks(s, production())
	for _, c := range []struct {
		section, name, placeholder, ref string
	}{
		{"relayer", "balance", "--signer <treasury-ref>", "--signer aws-sm://treasury"},
		{"relayer", "nonce", "--signer <relayer-ref>", "--signer aws-sm://relayer"},
		{"relayer", "nonce gap", "--signer <relayer-ref>", "--signer aws-sm://relayer"},
		{"gas", "fee cap", "--signer <relayer-ref>", "--signer aws-sm://relayer"},
	} {
		want{section: c.section, name: c.name, level: find(t, named, c.section, c.name).Level, fix: []string{c.ref}}.check(t, named)
		want{section: c.section, name: c.name, level: find(t, placeholders, c.section, c.name).Level, fix: []string{c.placeholder}}.check(t, placeholders)
	}
	s.relayer().Balance, s.relayer().Spend = eth("1"), &monitor.Spend{Block: 900, Time: now.Add(-24 * time.Hour), Balance: eth("10"), Nonce: 5}
	want{name: "runway", level: Crit, fix: []string{"--signer aws-sm://treasury"}}.check(t, []Check{RunwayCheck(*s.relayer(), now, production(), s.TreasuryRef)})
}

// After a rotation the profile's relayer address is out of date: status checks the
// store's current key and says which setting to change.
func TestSystemProfileRelayerRotatedOut(t *testing.T) {
	for _, c := range []struct {
		name, version, detail string
	}{
		{"a rotation retired it", "v1", "out of date: a rotation retired it (version v1 of aws-sm://relayer); the relayer in service is the store's current key " + relayerAddr.Hex() + ", checked here"},
		{"a store this host changed", "", "out of date: the API relays from the current key of aws-sm://relayer, a store vrwxctl changed on this host (audit log)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := healthy()
			s.RotatedOut = &Retired{Store: "aws-sm://relayer", Version: c.version, Current: relayerAddr}
			s.ProfileRelayer = otherAddr
			checks := SystemChecks(s, production())
			if checks[0].Name != "profile relayer" || Worst(checks) != Warn {
				t.Fatalf("first line %+v, worst %s", checks[0], Worst(checks))
			}
			want{section: "relayer", name: "profile relayer", level: Warn, value: otherAddr.Hex(), detail: []string{c.detail},
				fix: []string{"signer: aws-sm://relayer for the profile in the config file", "VRWX_SIGNER=aws-sm://relayer"}}.check(t, checks)
			want{section: "relayer", name: "balance", level: OK, detail: []string{relayerAddr.Hex()}}.check(t, checks)
		})
	}
}

// What the fixes about keys say depends on where the key comes from: a store can
// be rolled back or listed; an env:// key is a read-only copy of one; an API that
// relays from another key than a profile's address may be right.
func TestSystemKeyFixesFollowTheReference(t *testing.T) {
	s := healthy()
	s.Readings.Store.Ref = "env://RELAYER_KEY"
	s.Readings.API.Health.RelayerAddress = &otherAddr
	checks := SystemChecks(s, production())
	want{section: "keys", name: "current key", level: Crit, fix: []string{"roll back in the store the key comes from (env://RELAYER_KEY is a read-only copy of it): vrwxctl key rollback --store STORE"}}.check(t, checks)
	if c := find(t, checks, "keys", "current key"); strings.Contains(c.Fix, "--store env://") {
		t.Errorf("a rollback of an env:// key: %q", c.Fix)
	}
	want{section: "api", name: "relayerAddress", level: Crit, fix: []string{"the profile names the relayer by address, which a rotation does not update", "signer: STORE", "restart it on that key"}}.check(t, checks)

	s.RelayerFrom = "--address"
	want{section: "api", name: "relayerAddress", level: Crit, fix: []string{"if the API should relay from the relayer checked here, restart it on the store's current key"}}.check(t, SystemChecks(s, production()))

	s.Readings.Store.Err = errors.New("RELAYER_KEY is not set")
	c := find(t, SystemChecks(s, production()), "keys", "current key")
	if c.Level != Crit || c.Fix != "check the store's credentials and the reference" {
		t.Errorf("an unreadable env:// key: %+v", c)
	}
}

// The chain unreachable is said once, first, by the RPC lines, each with its own
// endpoint's error and the fix on the first; what needs the chain says it was not
// read instead of repeating the error.
func TestSystemChainDownSaidOnce(t *testing.T) {
	refused := errors.New("dial tcp 127.0.0.1:8545: connect: connection refused")
	chainErr := errs.Failedf("the local chain is not running: nothing listens at http://rpc-a").
		Wrap(chain.EndpointErrors{{URL: "http://rpc-a", Err: refused}, {URL: "http://rpc-b", Err: errors.New("503 Service Unavailable")}}).
		WithFix("start it with `make devchain`")
	s := healthy()
	s.Readings.Chain = monitor.Chain{Err: chainErr}
	s.Readings.Head, s.Readings.Gas = monitor.Head{Err: chainErr}, monitor.Gas{Err: chainErr}
	s.Readings.Relayers[0] = monitor.Relayer{Address: relayerAddr, Err: chainErr}
	s.Readings.RPCs = []monitor.RPC{{Index: 0, URL: "http://rpc-a", Err: chainErr}, {Index: 1, URL: "http://rpc-b", Err: chainErr}}
	checks := SystemChecks(s, production())
	if checks[0].Section != "rpc" || checks[1].Section != "rpc" {
		t.Fatalf("the RPC lines are not first:\n%s", listChecks(checks))
	}
	want{section: "rpc", name: "#0 (first)", level: Crit, value: "down", detail: []string{"http://rpc-a: dial tcp 127.0.0.1:8545: connect: connection refused"}, fix: []string{"start it with `make devchain`"}}.check(t, checks)
	want{section: "rpc", name: "#1", level: Crit, value: "down", detail: []string{"http://rpc-b: 503 Service Unavailable"}, noFix: true}.check(t, checks)
	for _, n := range [][2]string{{"relayer", "balance"}, {"gas", "gas price"}, {"chain", "head"}, {"contracts", "escrow code"}} {
		want{section: n[0], name: n[1], level: Info, value: "not read", detail: []string{"RPC down"}, noFix: true}.check(t, checks)
	}
	for _, c := range checks {
		if c.Section != "rpc" && strings.Contains(c.Detail, "refused") {
			t.Errorf("the outage said again by %s/%s: %s", c.Section, c.Name, c.Detail)
		}
	}

	// Without an RPC reading, one line says the chain is down.
	s.Readings.RPCs = nil
	want{section: "rpc", name: "RPC", level: Crit, value: "down"}.check(t, SystemChecks(s, production()))
}
