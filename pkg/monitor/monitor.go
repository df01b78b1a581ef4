// Package monitor reads the state of the whole VRWX system at one moment — each
// relayer's balance and nonces, gas price and base fee, the escrow's job count, every
// RPC endpoint's head and latency, the API's /health, and the DLQ depth from the API's
// database — without judging it. The exporter publishes these readings; `status` and
// `doctor` can judge the same ones.
//
// The chain values come from one JSON-RPC batch (one HTTP request); the other RPC
// URLs, the API and the database are read at the same time, so a read costs about
// one round trip of its slowest part. Each part fails on its own: a dead RPC, API or
// database is a reading that says so, never a failed read of everything.
package monitor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/chain"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/health"
	"github.com/vrwx/vrwxctl/pkg/history"
	"github.com/vrwx/vrwxctl/pkg/sqlitebackup"
	"github.com/vrwx/vrwxctl/pkg/vrwx"
)

// Reader says what to read and through which clients. Zero fields are not read:
// no Escrow, no escrow reading; no APIURL, no API reading; no DBPath, the database
// is never touched.
type Reader struct {
	// Chain is the failover client the batched chain reads go through.
	Chain *chain.Client
	// Endpoints are single-URL clients for every RPC URL, in failover order (see
	// NewEndpoints); each is probed for its head and latency. The one Chain is using
	// is not probed again: the batch itself measures it.
	Endpoints []*chain.Client
	Relayers  []common.Address
	Escrow    *common.Address
	// Health reads APIURL's /health (nil: a default client).
	Health *health.Client
	APIURL string
	// DBPath is the API's SQLite database, opened read-only for each read and closed
	// again, so a restore is never blocked by a monitor holding it open.
	DBPath string
	Now    func() time.Time

	// The fields below are what `status` and `doctor` read besides the exporter's
	// metrics. Left zero, a read stays one chain round trip.

	// Contracts also reads the escrow's code and paused() — and the registry's code
	// when Identity is set — in the first batch.
	Contracts bool
	Identity  *common.Address
	// Pools reads each relayer's transactions waiting in the node's txpool
	// (txpool_contentFrom; nodes without it, like anvil, are asked txpool_content in
	// the second round trip).
	Pools bool
	// SpendBlocks asks, in a second round trip, for each relayer's balance and nonce
	// that many blocks back (with the block's time), for its spend rate. The oldest
	// block the node still has state for wins: list long and short windows.
	SpendBlocks []uint64
	// Signer reads the address of the secret store's current key (SignerRef names
	// the store), at the same time as the first batch. With RelayerIsSigner that
	// address is also a relayer: its reads go in the second round trip.
	Signer          func(ctx context.Context) (common.Address, error)
	SignerRef       string
	RelayerIsSigner bool
	// Backups is where the database's backups go; the newest one's age is read
	// (from the listing only).
	Backups  *sqlitebackup.Location
	BackupS3 *s3.Client
	// Replica is a litestream replica of the database; ReplicaEngine reads it (the
	// vrwxctl-litestream helper). A Backups location that holds no backup but a
	// replica is read as the replica.
	Replica       *sqlitebackup.Location
	ReplicaEngine sqlitebackup.ReplicaEngine
	// Extra lets a caller add its own calls to the first batch.
	Extra func(b *chain.Batch)
	// AfterHead, when set, runs once the first batch has read the head, at the same
	// time as the second round trip (doctor relay's transaction and event search);
	// Read returns after it.
	AfterHead func(ctx context.Context, head uint64)
}

// NewEndpoints returns one client per URL, each bound to chainID (a URL on another
// chain reads as down, refused by the chain-id guard) and without retries: a probe
// measures the endpoint as it is.
func NewEndpoints(urls []string, chainID uint64) []*chain.Client {
	out := make([]*chain.Client, len(urls))
	for i, u := range urls {
		out[i] = chain.New(chain.Options{URLs: []string{u}, ChainID: chainID, Retries: -1})
	}
	return out
}

// Readings is the state of the system at At.
type Readings struct {
	At time.Time
	// Duration is how long the whole read took.
	Duration time.Duration
	Chain    Chain
	Gas      Gas
	Head     Head
	Relayers []Relayer
	// Escrow is nil when no escrow address is configured.
	Escrow *Escrow
	// RPCs has one reading per endpoint, in failover order.
	RPCs []RPC
	// API is nil when no API URL is configured.
	API *API
	// DLQ is nil when no database is configured.
	DLQ *DLQ
	// Contracts is nil unless Reader.Contracts.
	Contracts *Contracts
	// Store is nil without Reader.Signer.
	Store *Store
	// Backup is nil without Reader.Backups.
	Backup *Backup
	// Replica is nil without Reader.Replica (or a Backups location holding one).
	Replica *Replica
	// Rounds is how many chain round trips the read made one after the other.
	Rounds int
}

// Contracts is what the first batch read about the deployment's contracts.
type Contracts struct {
	Escrow    common.Address
	Code      []byte
	CodeErr   error
	Paused    []byte
	PausedErr error
	// Identity is nil when no registry is configured.
	Identity        *common.Address
	IdentityCode    []byte
	IdentityCodeErr error
}

// Store is the secret store's current key, as far as its address goes.
type Store struct {
	Ref     string
	Address common.Address
	Err     error
}

// Backup is the newest database backup.
type Backup struct {
	Location string
	// Newest is nil when the location holds no backup.
	Newest *sqlitebackup.Entry
	Err    error
}

// Replica is litestream's replication as its replica shows it.
type Replica struct {
	Location string
	Info     *sqlitebackup.ReplicaInfo
	// Age is how long ago the newest replicated position was written.
	Age time.Duration
	Err error
}

// readReplica describes the replica and the age of its newest position.
func (r *Reader) readReplica(ctx context.Context, loc sqlitebackup.Location, now time.Time) *Replica {
	out := &Replica{Location: loc.String()}
	out.Info, out.Err = sqlitebackup.DescribeReplica(ctx, loc, r.ReplicaEngine, sqlitebackup.S3Config{})
	if out.Err == nil {
		out.Age = now.Sub(out.Info.Latest)
	}
	return out
}

// Spend is a relayer's account some blocks back.
type Spend struct {
	Block   uint64
	Time    time.Time
	Balance *big.Int
	Nonce   uint64
}

// Chain is the outcome of the batched read.
type Chain struct {
	Up  bool
	Err error
	// RPC is the (redacted) URL that answered.
	RPC     string
	ChainID uint64
	Latency time.Duration
}

// Gas is the network's fee level.
type Gas struct {
	Price *big.Int // eth_gasPrice, wei
	// BaseFee is the latest block's base fee (nil before London).
	BaseFee *big.Int
	Err     error
}

// Head is the latest block as the batch saw it.
type Head struct {
	Number uint64
	Time   time.Time
	Err    error
}

// Relayer is one relayer account.
type Relayer struct {
	Address      common.Address
	Balance      *big.Int // wei
	NonceLatest  uint64
	NoncePending uint64
	Err          error
	// Pool is the relayer's part of the txpool (nil unless Reader.Pools).
	Pool *history.Pool
	// Spend is the account at the start of the spend window (nil unless
	// Reader.SpendBlocks and the node had state for one of them; SpendErr says why not).
	Spend    *Spend
	SpendErr error
}

// Pending is how many of the account's transactions wait in the mempool.
func (r Relayer) Pending() uint64 {
	if r.NoncePending > r.NonceLatest {
		return r.NoncePending - r.NonceLatest
	}
	return 0
}

// Escrow is the JobEscrow's job count.
type Escrow struct {
	Address  common.Address
	JobCount *big.Int
	Err      error
}

// RPC is one endpoint's head and latency.
type RPC struct {
	// Index is the URL's place in the failover order (0 = first).
	Index int
	// URL is redacted: providers put API keys in their URLs.
	URL      string
	Up       bool
	Err      error
	Head     uint64
	HeadTime time.Time
	Latency  time.Duration
	// Lag is how many blocks this endpoint's head is behind the highest head any
	// endpoint reported (0 for the leader; meaningless when down).
	Lag uint64
}

// API is the API's /health.
type API struct {
	URL string
	// Up is true when /health answered 200 with its JSON and status "ok".
	Up      bool
	Err     error
	Latency time.Duration
	// Health is the answer (nil when there was none to decode).
	Health *health.Health
}

// DLQ is the DLQ's state, read from the database.
type DLQ struct {
	Path    string
	Err     error
	Summary dlq.Summary
	// Leftovers are the temporary files of backups and restores in the database's
	// directory (sqlitebackup.Leftovers): killed runs leave them.
	Leftovers []sqlitebackup.TempFile
}

// Read reads everything at once; it never fails as a whole. ctx bounds it.
func (r *Reader) Read(ctx context.Context) Readings {
	now := r.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	out := Readings{At: start, RPCs: make([]RPC, len(r.Endpoints))}
	var primary string
	if r.Chain != nil {
		primary = r.Chain.URL()
	}
	var wg sync.WaitGroup
	storeDone := make(chan struct{})
	if r.Signer != nil {
		out.Store = &Store{Ref: r.SignerRef}
		wg.Go(func() {
			defer close(storeDone)
			out.Store.Address, out.Store.Err = r.Signer(ctx)
		})
	} else {
		close(storeDone)
	}
	if r.Chain != nil {
		wg.Go(func() {
			second := r.readChain(ctx, &out)
			var after sync.WaitGroup
			if r.AfterHead != nil && out.Head.Err == nil {
				head := out.Head.Number
				after.Go(func() { r.AfterHead(ctx, head) })
			}
			// The second round trip needs the head, and the store's key when that
			// key is a relayer; nothing else waits for it.
			<-storeDone
			second(ctx)
			after.Wait()
		})
	}
	for i, ep := range r.Endpoints {
		out.RPCs[i] = RPC{Index: i, URL: chain.RedactURL(ep.URL())}
		if ep.URL() == primary {
			continue
		}
		wg.Go(func() { out.RPCs[i] = probe(ctx, i, ep) })
	}
	if r.APIURL != "" {
		out.API = &API{URL: health.URL(r.APIURL)}
		wg.Go(func() { r.readAPI(ctx, out.API) })
	}
	if r.DBPath != "" {
		out.DLQ = &DLQ{Path: r.DBPath}
		wg.Go(func() { readDLQ(ctx, out.DLQ, start) })
		wg.Go(func() { out.DLQ.Leftovers = sqlitebackup.Leftovers(filepath.Dir(r.DBPath)) })
	}
	if r.Backups != nil {
		out.Backup = &Backup{Location: r.Backups.String()}
		wg.Go(func() {
			out.Backup.Newest, out.Backup.Err = sqlitebackup.Newest(ctx, *r.Backups, sqlitebackup.ListOptions{S3: r.BackupS3, Now: now})
			if out.Backup.Newest != nil || out.Backup.Err != nil || r.Replica != nil {
				return
			}
			// No backup there: it may be where litestream replicates.
			if ok, err := sqlitebackup.IsReplica(ctx, *r.Backups, sqlitebackup.ListOptions{S3: r.BackupS3}); ok && err == nil {
				out.Backup, out.Replica = nil, r.readReplica(ctx, *r.Backups, now())
			}
		})
	}
	if r.Replica != nil {
		wg.Go(func() { out.Replica = r.readReplica(ctx, *r.Replica, now()) })
	}
	wg.Wait()
	r.fillPrimary(&out, primary)
	setLags(out.RPCs)
	out.Duration = now().Sub(start)
	return out
}

// relayerCalls are one relayer's reads in a batch.
type relayerCalls struct {
	addr            common.Address
	bal             *chain.Result[hexutil.Big]
	latest, pending *chain.Result[hexutil.Uint64]
	pool            *chain.Result[map[string]map[string]json.RawMessage]
}

func (r *Reader) queueRelayer(b *chain.Batch, a common.Address) relayerCalls {
	c := relayerCalls{addr: a, bal: b.Balance(a, chain.Latest), latest: b.Nonce(a, chain.Latest), pending: b.Nonce(a, chain.Pending)}
	if r.Pools {
		c.pool = chain.Raw[map[string]map[string]json.RawMessage](b, "txpool_contentFrom", a)
	}
	return c
}

func (c relayerCalls) reading() Relayer {
	rl := Relayer{Address: c.addr}
	switch {
	case c.bal.Err() != nil:
		rl.Err = fmt.Errorf("eth_getBalance %s: %w", c.addr.Hex(), c.bal.Err())
	case c.latest.Err() != nil:
		rl.Err = fmt.Errorf("eth_getTransactionCount %s latest: %w", c.addr.Hex(), c.latest.Err())
	case c.pending.Err() != nil:
		rl.Err = fmt.Errorf("eth_getTransactionCount %s pending: %w", c.addr.Hex(), c.pending.Err())
	default:
		rl.Balance = c.bal.Value.ToInt()
		rl.NonceLatest, rl.NoncePending = uint64(c.latest.Value), uint64(c.pending.Value)
	}
	if c.pool != nil && c.pool.Err() == nil {
		p := history.DecodePool(c.pool.Value["pending"], c.pool.Value["queued"])
		rl.Pool = &p
	}
	return rl
}

// readChain sends the first batch and returns the second round trip, which runs
// once the store's key (if any) is known; it does nothing when nothing needs it.
func (r *Reader) readChain(ctx context.Context, out *Readings) func(context.Context) {
	c := r.Chain
	out.Chain.ChainID = c.ChainID()
	b := c.NewBatch()
	calls := make([]relayerCalls, len(r.Relayers))
	for i, a := range r.Relayers {
		calls[i] = r.queueRelayer(b, a)
	}
	// Whether the node answers txpool_contentFrom is worth knowing in the first
	// batch even with no relayer in it yet: the second then asks the right method.
	var poolProbe *chain.Result[map[string]map[string]json.RawMessage]
	if r.Pools && len(r.Relayers) == 0 {
		poolProbe = chain.Raw[map[string]map[string]json.RawMessage](b, "txpool_contentFrom", common.Address{})
	}
	gas := b.GasPrice()
	head := b.Header(chain.Latest)
	var jobCount, code, paused, idCode *chain.Result[hexutil.Bytes]
	if r.Escrow != nil {
		jobCount = b.Call(*r.Escrow, vrwx.Pack(vrwx.EscrowABI(), "jobCount"), chain.Latest)
		if r.Contracts {
			code = b.Code(*r.Escrow, chain.Latest)
			paused = b.Call(*r.Escrow, vrwx.Pack(vrwx.PausableABI(), "paused"), chain.Latest)
		}
	}
	if r.Contracts && r.Identity != nil {
		idCode = b.Code(*r.Identity, chain.Latest)
	}
	if r.Extra != nil {
		r.Extra(b)
	}
	start := time.Now()
	err := b.Do(ctx)
	out.Chain.Latency = time.Since(start)
	out.Chain.RPC = chain.RedactURL(c.URL())
	out.Rounds = 1
	nothing := func(context.Context) {}
	if err != nil {
		out.Chain.Err = err
		out.Gas.Err, out.Head.Err = err, err
		out.Relayers = make([]Relayer, len(r.Relayers))
		for i, a := range r.Relayers {
			out.Relayers[i] = Relayer{Address: a, Err: err}
		}
		if r.Escrow != nil {
			out.Escrow = &Escrow{Address: *r.Escrow, Err: err}
			if r.Contracts {
				out.Contracts = &Contracts{Escrow: *r.Escrow, CodeErr: err, PausedErr: err, Identity: r.Identity, IdentityCodeErr: err}
			}
		}
		return func(context.Context) {
			if r.RelayerIsSigner && out.Store != nil && out.Store.Err == nil {
				out.Relayers = append(out.Relayers, Relayer{Address: out.Store.Address, Err: err})
			}
		}
	}
	out.Chain.Up = true
	out.Relayers = make([]Relayer, len(r.Relayers))
	for i := range calls {
		out.Relayers[i] = calls[i].reading()
	}
	if err := gas.Err(); err != nil {
		out.Gas.Err = fmt.Errorf("eth_gasPrice: %w", err)
	} else {
		out.Gas.Price = gas.Value.ToInt()
	}
	switch {
	case head.Err() != nil:
		out.Head.Err = fmt.Errorf("eth_getBlockByNumber latest: %w", head.Err())
	case head.Value == nil:
		out.Head.Err = errors.New("the RPC returned no latest block")
	default:
		out.Head.Number, out.Head.Time = uint64(head.Value.Number), time.Unix(int64(head.Value.Time), 0)
		if head.Value.BaseFee != nil {
			out.Gas.BaseFee = head.Value.BaseFee.ToInt()
		}
	}
	if r.Escrow != nil {
		e := &Escrow{Address: *r.Escrow}
		if err := jobCount.Err(); err != nil {
			e.Err = fmt.Errorf("jobCount() on %s: %w", r.Escrow.Hex(), err)
		} else if n, err := vrwx.DecodeUint(jobCount.Value); err != nil {
			e.Err = fmt.Errorf("jobCount() on %s: %v (is there a JobEscrow at that address?)", r.Escrow.Hex(), err)
		} else {
			e.JobCount = n
		}
		out.Escrow = e
		if r.Contracts {
			out.Contracts = &Contracts{Escrow: *r.Escrow, Code: code.Value, CodeErr: code.Err(), Paused: paused.Value, PausedErr: paused.Err(), Identity: r.Identity}
			if idCode != nil {
				out.Contracts.IdentityCode, out.Contracts.IdentityCodeErr = idCode.Value, idCode.Err()
			}
		}
	}
	fromSupported := true
	switch {
	case poolProbe != nil:
		fromSupported = poolProbe.Err() == nil
	case r.Pools && len(calls) > 0:
		fromSupported = calls[0].pool.Err() == nil
	}
	if out.Head.Err != nil {
		return nothing
	}
	return func(ctx context.Context) { r.readSecond(ctx, out, fromSupported) }
}

// readSecond reads what needs the head or the store's key: the store's relayer,
// the txpool on nodes without txpool_contentFrom, and the spend windows.
func (r *Reader) readSecond(ctx context.Context, out *Readings, fromSupported bool) {
	b := r.Chain.NewBatch()
	var late *relayerCalls
	if r.RelayerIsSigner && out.Store != nil && out.Store.Err == nil {
		a := out.Store.Address
		known := false
		for _, rl := range out.Relayers {
			known = known || rl.Address == a
		}
		if !known {
			c := r.queueRelayer(b, a)
			if !fromSupported {
				c.pool = nil
			}
			late = &c
		}
	}
	var all *chain.Result[history.PoolContent]
	if r.Pools && !fromSupported {
		all = chain.Raw[history.PoolContent](b, "txpool_content")
	}
	type spendCalls struct {
		block uint64
		head  *chain.Result[*chain.Head]
		bal   []*chain.Result[hexutil.Big]
		nonce []*chain.Result[hexutil.Uint64]
	}
	nRelayers := len(out.Relayers)
	if late != nil {
		nRelayers++
	}
	var windows []*spendCalls
	seen := map[uint64]bool{}
	for _, k := range r.SpendBlocks {
		blk := uint64(0)
		if out.Head.Number > k {
			blk = out.Head.Number - k
		}
		if seen[blk] || blk == out.Head.Number {
			continue
		}
		seen[blk] = true
		w := &spendCalls{block: blk, head: b.Header(chain.BlockNumber(blk))}
		addrs := make([]common.Address, 0, nRelayers)
		for _, rl := range out.Relayers {
			addrs = append(addrs, rl.Address)
		}
		if late != nil {
			addrs = append(addrs, late.addr)
		}
		for _, a := range addrs {
			w.bal = append(w.bal, b.Balance(a, chain.BlockNumber(blk)))
			w.nonce = append(w.nonce, b.Nonce(a, chain.BlockNumber(blk)))
		}
		windows = append(windows, w)
	}
	if b.Len() == 0 {
		return
	}
	out.Rounds = 2
	if err := b.Do(ctx); err != nil {
		if late != nil {
			out.Relayers = append(out.Relayers, Relayer{Address: late.addr, Err: err})
		}
		for i := range out.Relayers {
			out.Relayers[i].SpendErr = err
		}
		return
	}
	if late != nil {
		out.Relayers = append(out.Relayers, late.reading())
	}
	if all != nil {
		for i := range out.Relayers {
			rl := &out.Relayers[i]
			if all.Err() != nil {
				continue
			}
			p := history.PoolOf(all.Value, rl.Address)
			rl.Pool = &p
		}
	}
	if r.Pools {
		for i := range out.Relayers {
			if out.Relayers[i].Pool == nil {
				out.Relayers[i].Pool = &history.Pool{Err: errors.New("the node exposes no txpool (neither txpool_contentFrom nor txpool_content)")}
			}
		}
	}
	// The oldest window the node answered wins (a pruned node forgets old state).
	sort.Slice(windows, func(i, j int) bool { return windows[i].block < windows[j].block })
	for i := range out.Relayers {
		rl := &out.Relayers[i]
		var lastErr error
		for _, w := range windows {
			switch {
			case w.head.Err() != nil || w.head.Value == nil:
				lastErr = fmt.Errorf("block %d: %v", w.block, w.head.Err())
				continue
			case w.bal[i].Err() != nil:
				lastErr = fmt.Errorf("balance at block %d: %w", w.block, w.bal[i].Err())
				continue
			case w.nonce[i].Err() != nil:
				lastErr = fmt.Errorf("nonce at block %d: %w", w.block, w.nonce[i].Err())
				continue
			}
			rl.Spend = &Spend{Block: w.block, Time: time.Unix(int64(w.head.Value.Time), 0), Balance: w.bal[i].Value.ToInt(), Nonce: uint64(w.nonce[i].Value)}
			break
		}
		if rl.Spend == nil && len(windows) > 0 {
			rl.SpendErr = lastErr
		}
	}
}

// fillPrimary records the endpoint the batch went to: the batch measured it.
func (r *Reader) fillPrimary(out *Readings, primary string) {
	if r.Chain == nil {
		return
	}
	for i, ep := range r.Endpoints {
		if ep.URL() != primary {
			continue
		}
		rpc := &out.RPCs[i]
		switch {
		case out.Chain.Err != nil:
			rpc.Err = out.Chain.Err
		case r.Chain.URL() != primary:
			rpc.Err = fmt.Errorf("did not answer the batched read; the client failed over to %s", chain.RedactURL(r.Chain.URL()))
		case out.Head.Err != nil:
			rpc.Err = out.Head.Err
		default:
			rpc.Up, rpc.Head, rpc.HeadTime, rpc.Latency = true, out.Head.Number, out.Head.Time, out.Chain.Latency
		}
	}
}

// probe reads one endpoint's head (chain-id guard included on the first probe).
func probe(ctx context.Context, i int, ep *chain.Client) RPC {
	out := RPC{Index: i, URL: chain.RedactURL(ep.URL())}
	b := ep.NewBatch()
	head := b.Header(chain.Latest)
	start := time.Now()
	err := b.Do(ctx)
	out.Latency = time.Since(start)
	switch {
	case err != nil:
		out.Err = err
	case head.Err() != nil:
		out.Err = fmt.Errorf("eth_getBlockByNumber latest: %w", head.Err())
	case head.Value == nil:
		out.Err = errors.New("the RPC returned no latest block")
	default:
		out.Up, out.Head, out.HeadTime = true, uint64(head.Value.Number), time.Unix(int64(head.Value.Time), 0)
	}
	return out
}

func setLags(rpcs []RPC) {
	var top uint64
	for _, r := range rpcs {
		if r.Up && r.Head > top {
			top = r.Head
		}
	}
	for i := range rpcs {
		if rpcs[i].Up {
			rpcs[i].Lag = top - rpcs[i].Head
		}
	}
}

func (r *Reader) readAPI(ctx context.Context, out *API) {
	c := r.Health
	if c == nil {
		c = &health.Client{}
	}
	res, err := c.Get(ctx, r.APIURL)
	out.Latency = res.Latency
	if res.URL != "" {
		out.URL = res.URL
	}
	if err != nil {
		out.Err = err
		return
	}
	h := res.Health
	out.Health = &h
	if h.Status != "ok" {
		out.Err = fmt.Errorf("API %s reports status %q", out.URL, h.Status)
		return
	}
	out.Up = true
}

func readDLQ(ctx context.Context, out *DLQ, now time.Time) {
	out.Err = dlq.ReadOnly(ctx, out.Path, func(db *sql.DB) error {
		sum, err := dlq.Stats(ctx, db, now)
		if err == nil {
			out.Summary = sum
		}
		return err
	})
}
