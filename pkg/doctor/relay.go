package doctor

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/history"
	"github.com/vrwx/vrwxctl/pkg/monitor"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// Relay is the runbook's "Relay Transaction Failures" investigation, automated:
// the relayer's balance, nonces and txpool, its recent transactions with the
// reasons the failed ones reverted, the escrow's recent events, the pause switch,
// every RPC URL's head and lag, the fee cap against the base fee and the API —
// judged, and ending with the likely causes ranked, each with the runbook's fix.
type Relay struct {
	// Reader reads the system; Relay adds the relayer and its own calls to it.
	Reader *monitor.Reader
	// Relayer is the relayer's address; with RelayerIsSigner on the Reader it is
	// the store's current key instead, read alongside the first batch.
	Relayer     common.Address
	RelayerFrom string
	ChainID     uint64
	// Blocks is the window of recent blocks searched for transactions and events.
	Blocks uint64
	// Limit is how many of the relayer's recent transactions are kept.
	Limit      int
	Thresholds SystemThresholds
	Now        func() time.Time
	// DLQSince is how far back the DLQ's TX_FAIL rows are read when the reader has
	// a database (DefaultDLQSince when 0).
	DLQSince time.Duration
	// RelayerRef and TreasuryRef are what fixes name; RotatedOut and
	// ProfileRelayer say the profile's relayer was rotated out (see System).
	RelayerRef, TreasuryRef string
	RotatedOut              *Retired
	ProfileRelayer          common.Address
}

// RelayReport is what the investigation found.
type RelayReport struct {
	Readings monitor.Readings
	Relayer  common.Address
	// From and To are the block window searched.
	From, To uint64
	History  *history.Result
	// Events counts the escrow's events in the window by name.
	Events    map[string]int
	EventsErr error
	Checks    []Check
	Causes    []Cause
	RuledOut  []Cause
	// NotJudged are the causes nothing could be read for (the RPC down): neither
	// likely nor ruled out.
	NotJudged []Cause
	// DLQ holds the recent TX_FAIL rows by decoded cause, read from DLQPath (the
	// reader's database; "" when none is configured); DLQErr says why it could not be.
	DLQ     *dlq.Failures
	DLQErr  error
	DLQPath string
}

// Cause is one of the runbook's causes of relay failures, with what points to it.
type Cause struct {
	Name  string `json:"name"`
	Level Level  `json:"level"`
	// Score orders causes: the strongest evidence first.
	Score    int      `json:"score"`
	Evidence []string `json:"evidence"`
	Fix      string   `json:"fix,omitempty"`
	// DLQRows counts the recent TX_FAIL rows whose reasons point to this cause, and
	// Newest is the newest of them.
	DLQRows int        `json:"dlqRows,omitempty"`
	Newest  *time.Time `json:"newest,omitempty"`
}

// Run reads everything and judges it: the system's first batch carries the
// relayer's Otterscan page and txpool, then the transaction search and the escrow's
// events (which need the head) run at the same time.
func (d *Relay) Run(ctx context.Context) (*RelayReport, error) {
	rd := d.Reader
	var q *history.Query
	finder := &history.Finder{Chain: rd.Chain, Address: d.Relayer, Blocks: d.Blocks, Limit: d.Limit}
	if !rd.RelayerIsSigner {
		rd.Relayers = []common.Address{d.Relayer}
		extra := rd.Extra
		rd.Extra = func(b *chain.Batch) {
			q = finder.Queue(b)
			if extra != nil {
				extra(b)
			}
		}
	}
	blocks := d.Blocks
	if blocks == 0 {
		blocks = 100
	}
	finder.Blocks = blocks
	rep := &RelayReport{Relayer: d.Relayer, Events: map[string]int{}}
	var histErr error
	// The transactions and the escrow's events need the head only: they are read
	// while the reader's second round trip (spend window) runs. A relayer that is the
	// store's key is not known before the first batch; its search starts after Read.
	search := func(ctx context.Context, head uint64) {
		rep.To, rep.From = head, 1
		if head >= blocks {
			rep.From = head - blocks + 1
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			if q != nil {
				rep.History, histErr = q.Finish(ctx, head)
			} else {
				rep.History, histErr = finder.Find(ctx)
			}
		})
		if rd.Escrow != nil && rep.From <= head {
			wg.Go(func() { rep.EventsErr = countEvents(ctx, rd.Chain, *rd.Escrow, rep.From, head, rep.Events) })
		}
		wg.Wait()
	}
	if !rd.RelayerIsSigner {
		rd.AfterHead = search
	}
	// The DLQ's recent TX_FAIL rows are read alongside the chain; judging waits
	// for them.
	dlqRead := func() {}
	if rd.DBPath != "" {
		done := d.readFailures(ctx, rd.DBPath, rep)
		dlqRead = func() { <-done }
		defer dlqRead()
	}
	r := rd.Read(ctx)
	rep.Readings = r
	if rd.RelayerIsSigner && r.Store != nil {
		if r.Store.Err != nil {
			return nil, fmt.Errorf("reading the relayer's address from %s: %w", redact.Mask(r.Store.Ref), r.Store.Err)
		}
		rep.Relayer, finder.Address = r.Store.Address, r.Store.Address
	}
	if r.Chain.Err != nil || r.Head.Err != nil {
		dlqRead()
		d.judge(rep, false)
		return rep, nil
	}
	if rd.RelayerIsSigner {
		search(ctx, r.Head.Number)
	}
	if histErr != nil {
		return nil, fmt.Errorf("the relayer's recent transactions: %w", histErr)
	}
	dlqRead()
	d.judge(rep, true)
	return rep, nil
}

// judge turns what Run read into checks and ranked causes; it reads nothing.
// Without the chain (its batch or head unreadable) the system is judged without
// the relayer's transactions and the escrow's events, which need the head.
func (d *Relay) judge(rep *RelayReport, chainRead bool) {
	if !chainRead {
		rep.Checks = append(SystemChecks(d.system(rep), d.Thresholds), d.dlqChecks(rep)...)
		rep.Causes, rep.RuledOut, rep.NotJudged = rankRelayCauses(rep, d.Thresholds, d.now())
		return
	}
	// The txpool came with the history: judge it with the relayer's nonces.
	for i := range rep.Readings.Relayers {
		if rep.Readings.Relayers[i].Address == rep.Relayer {
			p := rep.History.Pool
			rep.Readings.Relayers[i].Pool = &p
		}
	}
	rep.Checks = append(SystemChecks(d.system(rep), d.Thresholds), d.transactionChecks(rep)...)
	rep.Checks = append(rep.Checks, eventsCheck(rep))
	rep.Checks = append(rep.Checks, d.dlqChecks(rep)...)
	rep.Causes, rep.RuledOut, rep.NotJudged = rankRelayCauses(rep, d.Thresholds, d.now())
}

// logReader is what countEvents asks of the chain (*chain.Client in the program).
type logReader interface {
	Logs(ctx context.Context, q chain.LogQuery) ([]types.Log, error)
}

// countEvents counts the escrow's logs in blocks from..to by event name; a topic
// that is none of the escrow's events is counted as such, never dropped.
func countEvents(ctx context.Context, c logReader, escrow common.Address, from, to uint64, into map[string]int) error {
	logs, err := c.Logs(ctx, chain.LogQuery{Addresses: []common.Address{escrow}, From: from, To: to})
	if err != nil {
		return err
	}
	for _, l := range logs {
		name := "unknown topic"
		if len(l.Topics) > 0 {
			name = "unknown topic " + l.Topics[0].Hex()[:10]
		}
		if ev, err := vrwx.DecodeEvent(l, vrwx.ContractEscrow); err == nil {
			name = ev.Name
		}
		into[name]++
	}
	return nil
}

func (f *Relay) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Relay) system(rep *RelayReport) System {
	return System{Readings: rep.Readings, ChainID: f.ChainID, Relayer: rep.Relayer, RelayerFrom: f.RelayerFrom, Now: f.now(),
		RelayerRef: f.RelayerRef, TreasuryRef: f.TreasuryRef, RotatedOut: f.RotatedOut, ProfileRelayer: f.ProfileRelayer}
}

func (f *Relay) dlqChecks(rep *RelayReport) []Check {
	if c, ok := dlqCheck(rep, f.now()); ok {
		return []Check{c}
	}
	return nil
}

// transactionChecks summarises the relayer's recent transactions and lists each
// one that reverted, with its decoded reason.
func (d *Relay) transactionChecks(rep *RelayReport) []Check {
	h := rep.History
	how := "Otterscan index"
	if h.Source == "scan" {
		how = "nonce scan"
	}
	failed := h.Failed()
	sum := Check{Section: "transactions", Name: "recent", Level: OK,
		Value:  fmt.Sprintf("%d mined, %d reverted", len(h.Mined), len(failed)),
		Detail: fmt.Sprintf("sent by %s in blocks %d..%d (%s)", rep.Relayer.Hex(), h.From, h.To, how)}
	if h.More {
		sum.Detail += fmt.Sprintf("; the newest %d shown", len(h.Mined))
	}
	if len(h.Mined) == 0 {
		sum.Level, sum.Value = Info, "none"
	}
	out := []Check{sum}
	for _, t := range failed {
		c := Check{Section: "transactions", Name: fmt.Sprintf("nonce %d", t.Nonce), Level: Warn,
			Value:  "reverted: " + revertName(t),
			Detail: fmt.Sprintf("%s %s in block %d: %s", t.Hash.Hex(), callText(t), t.Block, t.Reason())}
		if t.Revert != nil && t.Revert.Fix != "" {
			c.Fix = t.Revert.Fix
		}
		out = append(out, c)
	}
	for _, n := range h.Notes {
		out = append(out, Check{Section: "transactions", Name: "note", Level: Info, Value: "incomplete", Detail: n})
	}
	return out
}

func revertName(t history.Tx) string {
	if t.Revert != nil {
		return t.Revert.Name
	}
	if strings.HasPrefix(t.RevertNote, "ran out of gas") {
		return "out of gas"
	}
	return "unknown reason"
}

// callText names the call, with the job id of a completion.
func callText(t history.Tx) string {
	m := t.Method()
	if m == "" {
		return "transfer"
	}
	if id := completionJob(t); id != nil {
		return fmt.Sprintf("%s(job %s)", m, id)
	}
	return m
}

// completionJob returns the job id a submitCompletionV2 call names (nil otherwise).
func completionJob(t history.Tx) *big.Int {
	if t.Method() != "submitCompletionV2" || len(t.Input) < 4 {
		return nil
	}
	args, err := vrwx.EscrowABI().Methods["submitCompletionV2"].Inputs.Unpack(t.Input[4:])
	if err != nil || len(args) == 0 {
		return nil
	}
	id, _ := args[0].(*big.Int)
	return id
}

func eventsCheck(rep *RelayReport) Check {
	c := Check{Section: "events", Name: "escrow events", Level: Info}
	switch {
	case rep.Readings.Escrow == nil:
		c.Value, c.Detail = "not read", "no escrow configured"
	case rep.EventsErr != nil:
		c.Value, c.Detail = "unreadable", rep.EventsErr.Error()
	default:
		names := make([]string, 0, len(rep.Events))
		total := 0
		for n, k := range rep.Events {
			names = append(names, fmt.Sprintf("%s %d", n, k))
			total += k
		}
		sort.Strings(names)
		c.Value = fmt.Sprintf("%d in blocks %d..%d", total, rep.From, rep.To)
		c.Detail = strings.Join(names, ", ")
		if total == 0 {
			c.Detail = "no escrow activity in the window: nothing was created, funded or completed"
		}
	}
	return c
}

// The runbook's "Common Causes & Fixes", and the causes vrwxctl can see besides.
const (
	causeOutOfGas   = "Relayer out of gas"
	causeGasPrices  = "High gas prices"
	causePaused     = "Contract paused"
	causeRPC        = "RPC node issues"
	causeSignatures = "Invalid signatures"
	causeNonceGap   = "Nonce gap"
	causeAPI        = "API down or relaying from another key"
	causeRejected   = "Completions the escrow rejects"
	causeGasLimit   = "Gas limit too low"
)

// rankRelayCauses weighs the evidence for each cause and orders them, strongest
// first; causes of the runbook's table without evidence are ruled out, each with
// the reading that rules it out.
func rankRelayCauses(rep *RelayReport, t SystemThresholds, now time.Time) (causes, ruledOut, notJudged []Cause) {
	by := map[string]*Cause{}
	add := func(name string, level Level, score int, evidence, fix string) {
		c := by[name]
		if c == nil {
			c = &Cause{Name: name, Level: Info}
			by[name] = c
		}
		c.Score += score
		c.Evidence = append(c.Evidence, evidence)
		if c.Fix == "" {
			c.Fix = fix
		}
		if level == Crit || (level == Warn && c.Level != Crit) {
			c.Level = level
		}
	}
	get := func(section, name string) (Check, bool) {
		for _, c := range rep.Checks {
			if c.Section == section && c.Name == name {
				return c, true
			}
		}
		return Check{}, false
	}
	weight := func(l Level, crit, warn int) int {
		switch l {
		case Crit:
			return crit
		case Warn:
			return warn
		}
		return 0
	}
	notes := map[string]string{}
	// unread holds the causes whose evidence could not be read, and why: a check
	// that says "not read" (its dependency is down) is no evidence either way.
	unread := map[string]string{}
	notRead := func(c Check, cause string) bool {
		if c.Value == "not read" {
			unread[cause] = c.Detail
			return true
		}
		return false
	}
	for _, u := range []struct{ section, name, cause string }{
		{"contracts", "escrow code", causePaused}, {"gas", "gas price", causeGasPrices}, {"chain", "head", causeSignatures},
	} {
		if c, ok := get(u.section, u.name); ok {
			notRead(c, u.cause)
		}
	}

	if c, ok := get("relayer", "balance"); ok && !notRead(c, causeOutOfGas) {
		if c.Level != OK {
			add(causeOutOfGas, c.Level, weight(c.Level, 100, 40), "balance "+c.Value+" ("+c.Detail+")", c.Fix)
		} else {
			notes[causeOutOfGas] = "balance " + c.Value
		}
	}
	if c, ok := get("relayer", "runway"); ok && c.Level != OK && c.Level != Info {
		add(causeOutOfGas, c.Level, weight(c.Level, 30, 10), "runway "+c.Value+" "+c.Detail, c.Fix)
	}
	if c, ok := get("gas", "fee cap"); ok {
		if c.Level == Crit {
			add(causeGasPrices, Crit, 100, c.Detail, c.Fix)
		} else {
			notes[causeGasPrices] = "fee cap " + c.Value + " above the base fee"
		}
	}
	if c, ok := get("relayer", "stuck"); ok {
		add(causeGasPrices, c.Level, 80, "stuck: "+c.Detail, c.Fix)
	}
	for _, n := range []string{"gas price", "base fee"} {
		if c, ok := get("gas", n); ok && c.Level != OK && c.Value != "not read" {
			add(causeGasPrices, c.Level, weight(c.Level, 50, 20), n+" "+c.Value, c.Fix)
		}
	}
	if c, ok := get("relayer", "nonce"); ok && c.Level == Warn {
		add(causeGasPrices, Warn, 15, c.Detail, c.Fix)
	}
	if c, ok := get("relayer", "nonce gap"); ok {
		add(causeNonceGap, Crit, 100, c.Detail, c.Fix)
	}
	if c, ok := get("contracts", "paused"); ok {
		if c.Level == Crit {
			add(causePaused, Crit, 100, "the escrow's paused() is true", c.Fix)
		} else {
			notes[causePaused] = "paused() " + c.Value
		}
	}
	rpcOK := true
	for _, c := range rep.Checks {
		if c.Section == "rpc" && c.Level != OK {
			rpcOK = false
			// The RPC line above says what the endpoint answered; the cause names it.
			add(causeRPC, c.Level, weight(c.Level, 80, 40), fmt.Sprintf("RPC %s: %s", c.Name, c.Value), c.Fix)
		}
		if (c.Section == "chain" || (c.Section == "relayer" && c.Name == "relayer")) && c.Level == Crit {
			rpcOK = false
			add(causeRPC, Crit, 80, c.Name+" "+c.Value+": "+c.Detail, c.Fix)
		}
	}
	if rpcOK {
		notes[causeRPC] = fmt.Sprintf("%d RPC URL(s) up, none lagging", len(rep.Readings.RPCs))
	}
	for _, c := range rep.Checks {
		if c.Section == "api" && c.Level == Crit {
			evidence := c.Name + " " + c.Value + ": " + c.Detail
			if c.Name == "/health" && c.Value == "down" {
				// The API line above quotes its error.
				evidence = "/health down"
			}
			add(causeAPI, Crit, 90, evidence, c.Fix)
		}
		if c.Section == "keys" && c.Level == Crit {
			add(causeAPI, Crit, 90, c.Detail, c.Fix)
		}
	}

	sigErrors := []string{"InvalidSignature", "RobotNotFound", "ECDSAInvalidSignature", "ECDSAInvalidSignatureLength", "ECDSAInvalidSignatureS"}
	rejected := []string{"InvalidStatus", "DeadlinePassed", "ClaimAlreadyUsed", "JobNotFound"}
	sigSeen := false
	if rep.History != nil {
		for _, tx := range rep.History.Failed() {
			what := fmt.Sprintf("%s %s (nonce %d, block %d) reverted: %s", tx.Hash.Hex(), callText(tx), tx.Nonce, tx.Block, tx.Reason())
			name := revertName(tx)
			switch {
			case slices.Contains(sigErrors, name):
				sigSeen = true
				fix := "runbook: check IdentityRegistry state — vrwxctl doctor signature ROBOT"
				if id := completionJob(tx); id != nil {
					fix = fmt.Sprintf("runbook: check IdentityRegistry state — vrwxctl doctor signature ROBOT --job %s --completion-hash … --quality … --work-units … --sig … (the DLQ row holds them: vrwxctl dlq list --type TX_FAIL)", id)
				}
				add(causeSignatures, Warn, 60, what, fix)
			case name == "EnforcedPause":
				add(causePaused, Warn, 60, what, "runbook: contract paused — contact the admin to unpause")
			case slices.Contains(rejected, name):
				add(causeRejected, Warn, 30, what, "these completions cannot succeed as sent (the job moved on): resolve their DLQ rows (vrwxctl dlq resolve ID --as SKIPPED --notes …) instead of retrying")
			case name == "out of gas":
				add(causeGasLimit, Warn, 40, what, "raise GAS_LIMIT_MULTIPLIER (the API's gas limit = estimate × multiplier, 1.2 by default)")
			default:
				add(causeRejected, Warn, 20, what, "vrwxctl tx status HASH; the revert reason is above")
			}
		}
	}
	if !sigSeen {
		notes[causeSignatures] = "no recent transaction reverted on a signature or an unregistered robot"
	}
	// The DLQ holds what never reached the chain: a cause is ruled out only when
	// neither shows it.
	for _, h := range dlqEvidence(rep, now, add) {
		c := by[h.cause]
		c.DLQRows += h.rows
		if c.Newest == nil || h.newest.After(*c.Newest) {
			n := h.newest
			c.Newest = &n
		}
	}
	for name, n := range notes {
		notes[name] = n + dlqNote(rep)
	}

	for _, c := range by {
		causes = append(causes, *c)
	}
	sort.SliceStable(causes, func(i, j int) bool {
		if causes[i].Score != causes[j].Score {
			return causes[i].Score > causes[j].Score
		}
		return causes[i].Name < causes[j].Name
	})
	for _, name := range []string{causeOutOfGas, causeGasPrices, causePaused, causeRPC, causeSignatures} {
		switch {
		case by[name] != nil:
		case unread[name] != "":
			notJudged = append(notJudged, Cause{Name: name, Level: Info, Evidence: []string{"not read: " + unread[name]}})
		default:
			ruledOut = append(ruledOut, Cause{Name: name, Level: OK, Evidence: []string{notes[name]}})
		}
	}
	return causes, ruledOut, notJudged
}
