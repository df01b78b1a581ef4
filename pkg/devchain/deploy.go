package devchain

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// Names of the seeded robots (keys of Deployment.Robots).
const (
	RobotActive       = "active"       // registered and active, controller = account 4
	RobotDeactivated  = "deactivated"  // registered, then deactivated by its controller (account 5)
	RobotUnregistered = "unregistered" // never registered: zero controller
)

// Names of the seeded jobs (keys of Deployment.Jobs). A plain status name is a job of
// the active robot in that status; the others say what is special about them.
const (
	JobCreated             = "CREATED"
	JobFunded              = "FUNDED"
	JobCompleted           = "COMPLETED" // completed by a real controller signature; challenge window open
	JobSettled             = "SETTLED"
	JobDisputed            = "DISPUTED"
	JobRefunded            = "REFUNDED"
	JobFundedDeactivated   = "FUNDED_DEACTIVATED"   // FUNDED, robot deactivated
	JobFundedUnregistered  = "FUNDED_UNREGISTERED"  // FUNDED, robot never registered
	JobFundedSoon          = "FUNDED_SOON"          // FUNDED, deadline one hour after seeding
	JobFundedOverdue       = "FUNDED_OVERDUE"       // FUNDED, deadline passed, not refunded
	JobCompletedSettleable = "COMPLETED_SETTLEABLE" // COMPLETED, challenge window over, not settled
	JobFundedReopened      = "FUNDED_REOPENED"      // FUNDED again after a dispute; its old claim is used
)

// Job statuses (spec/VRWX.md: the escrow's uint8 enum).
const (
	StatusCreated   uint8 = 0
	StatusFunded    uint8 = 1
	StatusCompleted uint8 = 2
	StatusSettled   uint8 = 3
	StatusDisputed  uint8 = 4
	StatusRefunded  uint8 = 5
)

var seededStatus = map[string]uint8{
	JobCreated:             StatusCreated,
	JobFunded:              StatusFunded,
	JobCompleted:           StatusCompleted,
	JobSettled:             StatusSettled,
	JobDisputed:            StatusDisputed,
	JobRefunded:            StatusRefunded,
	JobFundedDeactivated:   StatusFunded,
	JobFundedUnregistered:  StatusFunded,
	JobFundedSoon:          StatusFunded,
	JobFundedOverdue:       StatusFunded,
	JobCompletedSettleable: StatusCompleted,
	JobFundedReopened:      StatusFunded,
}

// SeededStatus is the status Deploy leaves the job called name in.
func SeededStatus(name string) (uint8, bool) {
	s, ok := seededStatus[name]
	return s, ok
}

// Seeding parameters, exported so tests can assert exact amounts.
var (
	// JobPrice is every seeded job's price: 25 USDC (6 decimals).
	JobPrice = big.NewInt(25_000_000)
	// BuyerMint is what the buyer holds before any job is funded: 1,000,000 USDC.
	BuyerMint = new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(1_000_000))
	// ServiceType is the serviceTypeHash of the seeded jobs.
	ServiceType = crypto.Keccak256Hash([]byte("inspection"))
)

const (
	// DeployHistory is how far in the past StartT and `make devchain` start the chain
	// clock. Deploy needs a day of chain time to settle and refund jobs; starting two
	// days back lets it finish with the chain clock at the wall clock instead of a
	// day ahead of it.
	DeployHistory = 48 * time.Hour

	challengeWindow = 24 * time.Hour
	openDeadline    = 30 * 24 * time.Hour
	soonDeadline    = time.Hour
	qualityScore    = 100
	workUnits       = 10
	verdictRedo     = 3
)

// Robot is a seeded robot.
type Robot struct {
	ID         common.Hash    `json:"id"`
	Controller common.Address `json:"controller"`
}

// Claim is a completion that was submitted for a seeded job, so tests can replay it
// (ClaimAlreadyUsed) or look for its event.
type Claim struct {
	CompletionHash common.Hash   `json:"completionHash"`
	QualityScore   uint8         `json:"qualityScore"`
	WorkUnits      uint32        `json:"workUnits"`
	Signature      hexutil.Bytes `json:"signature"`
}

// Deployment describes a deployed and seeded local chain. It holds no keys: dev keys
// come from DevKey by role (Account* constants).
type Deployment struct {
	ChainID        uint64         `json:"chainId"`
	RPCURL         string         `json:"rpcUrl"`
	Escrow         common.Address `json:"escrow"`
	Identity       common.Address `json:"identity"`
	Token          common.Address `json:"token"`
	PausableEscrow common.Address `json:"pausableEscrow"`
	Treasury       common.Address `json:"treasury"`
	Admin          common.Address `json:"admin"`
	Relayer        common.Address `json:"relayer"`
	Buyer          common.Address `json:"buyer"`
	// DeployBlock is the block of the first deployment transaction: where event scans
	// can start.
	DeployBlock uint64            `json:"deployBlock"`
	Robots      map[string]Robot  `json:"robots"`
	Jobs        map[string]uint64 `json:"jobs"`
	// Claims are the submitted completions by job name.
	Claims map[string]Claim `json:"claims"`
}

// Deploy deploys the test doubles on the anvil at rpcURL with the dev accounts and
// seeds robots and jobs through the contracts' own lifecycle (see the Robot* and Job*
// names). On a fresh anvil the contracts land at LocalToken, LocalIdentity, LocalEscrow
// and LocalPausableEscrow. It moves the chain clock forward by a day (to the wall clock
// when the chain started DeployHistory in the past) and needs automine.
func Deploy(ctx context.Context, rpcURL string) (*Deployment, error) {
	c, err := dial(ctx, rpcURL)
	if err != nil {
		return nil, err
	}
	defer c.close()
	var automine bool
	if err := c.rc.CallContext(ctx, &automine, "anvil_getAutomine"); err != nil {
		return nil, fmt.Errorf("deploy on %s: anvil_getAutomine: %w (Deploy needs anvil)", rpcURL, err)
	}
	if !automine {
		return nil, fmt.Errorf("deploy on %s: automine is off; Deploy waits for every transaction, start anvil without --no-mining or call SetAutomine(true)", rpcURL)
	}
	head, err := c.ec.BlockNumber(ctx)
	if err != nil {
		return nil, fmt.Errorf("read block number of %s: %w", rpcURL, err)
	}
	d := &Deployment{
		ChainID:     c.chainID.Uint64(),
		RPCURL:      rpcURL,
		Treasury:    DevAddress(AccountTreasury),
		Admin:       DevAddress(AccountAdmin),
		Relayer:     DevAddress(AccountRelayer),
		Buyer:       DevAddress(AccountBuyer),
		DeployBlock: head + 1,
		Robots:      map[string]Robot{},
		Jobs:        map[string]uint64{},
		Claims:      map[string]Claim{},
	}
	s := &seeder{c: c, d: d}
	if err := s.deployContracts(ctx); err != nil {
		return nil, err
	}
	if err := s.seedRobots(ctx); err != nil {
		return nil, err
	}
	if err := s.seedJobs(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

type seeder struct {
	c *conn
	d *Deployment
}

func (s *seeder) deployContracts(ctx context.Context) error {
	admin := DevKey(AccountAdmin)
	var err error
	// This order fixes the addresses (account 0's nonces 0..3); Local* depend on it.
	if s.d.Token, err = s.c.deploy(ctx, admin, ContractToken); err != nil {
		return err
	}
	if s.d.Identity, err = s.c.deploy(ctx, admin, ContractIdentity); err != nil {
		return err
	}
	if s.d.Escrow, err = s.c.deploy(ctx, admin, ContractEscrow, s.d.Token, s.d.Identity, s.d.Treasury); err != nil {
		return err
	}
	if s.d.PausableEscrow, err = s.c.deploy(ctx, admin, ContractPausableEscrow, s.d.Token, s.d.Identity, s.d.Treasury); err != nil {
		return err
	}
	if _, err := s.c.call(ctx, admin, s.d.Token, ContractToken, "mint", s.d.Buyer, BuyerMint); err != nil {
		return err
	}
	buyer := DevKey(AccountBuyer)
	for _, escrow := range []common.Address{s.d.Escrow, s.d.PausableEscrow} {
		if _, err := s.c.call(ctx, buyer, s.d.Token, ContractToken, "approve", escrow, abiMaxUint256()); err != nil {
			return err
		}
	}
	return nil
}

func (s *seeder) seedRobots(ctx context.Context) error {
	for _, r := range []struct {
		name       string
		controller int
	}{{RobotActive, AccountActiveController}, {RobotDeactivated, AccountDeactivatedController}} {
		id := RobotID(Tenant, r.name)
		key := DevKey(r.controller)
		pubkey := crypto.CompressPubkey(&key.PublicKey)
		if _, err := s.c.call(ctx, DevKey(AccountAdmin), s.d.Identity, ContractIdentity, "registerRobot", id, DevAddress(r.controller), pubkey); err != nil {
			return fmt.Errorf("register robot %q: %w", r.name, err)
		}
		s.d.Robots[r.name] = Robot{ID: id, Controller: DevAddress(r.controller)}
	}
	if _, err := s.c.call(ctx, DevKey(AccountDeactivatedController), s.d.Identity, ContractIdentity, "deactivateRobot", s.d.Robots[RobotDeactivated].ID); err != nil {
		return fmt.Errorf("deactivate robot %q: %w", RobotDeactivated, err)
	}
	s.d.Robots[RobotUnregistered] = Robot{ID: RobotID(Tenant, RobotUnregistered)}
	return nil
}

// seedJobs runs two phases around a day of chain time: jobs that must outlive their
// deadline or challenge window start first, the jobs that stay open start after the
// jump, with deadlines relative to the new clock.
func (s *seeder) seedJobs(ctx context.Context) error {
	t0, err := s.chainTime(ctx)
	if err != nil {
		return err
	}
	short := t0.Add(time.Hour)
	steps := []func() error{
		func() error { return s.job(ctx, JobSettled, RobotActive, t0.Add(2*time.Hour), true, true) },
		func() error { return s.job(ctx, JobRefunded, RobotActive, short, true, false) },
		func() error { return s.job(ctx, JobFundedOverdue, RobotActive, short, true, false) },
		func() error { return s.job(ctx, JobCompletedSettleable, RobotActive, t0.Add(2*time.Hour), true, true) },
		func() error { return s.jumpTo(ctx, t0.Add(challengeWindow+time.Minute)) },
		func() error { return s.tx(ctx, AccountAdmin, "settle", JobSettled) },
		func() error { return s.tx(ctx, AccountAdmin, "refund", JobRefunded) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	t1, err := s.chainTime(ctx)
	if err != nil {
		return err
	}
	open := t1.Add(openDeadline)
	steps = []func() error{
		func() error { return s.job(ctx, JobCompleted, RobotActive, open, true, true) },
		func() error { return s.job(ctx, JobDisputed, RobotActive, open, true, true) },
		func() error { return s.tx(ctx, AccountBuyer, "dispute", JobDisputed) },
		func() error { return s.job(ctx, JobFundedReopened, RobotActive, open, true, true) },
		func() error { return s.tx(ctx, AccountBuyer, "dispute", JobFundedReopened) },
		func() error { return s.tx(ctx, AccountAdmin, "resolveDispute", JobFundedReopened, uint8(verdictRedo)) },
		func() error { return s.job(ctx, JobCreated, RobotActive, open, false, false) },
		func() error { return s.job(ctx, JobFunded, RobotActive, open, true, false) },
		func() error { return s.job(ctx, JobFundedDeactivated, RobotDeactivated, open, true, false) },
		func() error { return s.job(ctx, JobFundedUnregistered, RobotUnregistered, open, true, false) },
		func() error { return s.job(ctx, JobFundedSoon, RobotActive, t1.Add(soonDeadline), true, false) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// job creates the named job as the buyer and optionally funds it and submits a
// completion signed by the robot's controller, relayed by the relayer account.
func (s *seeder) job(ctx context.Context, name, robot string, deadline time.Time, fund, complete bool) error {
	buyer := DevKey(AccountBuyer)
	r, err := s.c.call(ctx, buyer, s.d.Escrow, ContractEscrow, "createJobV2",
		s.d.Robots[robot].ID, ServiceType, crypto.Keccak256Hash([]byte("jobspec:"+name)), JobPrice, big.NewInt(deadline.Unix()))
	if err != nil {
		return fmt.Errorf("seed job %s: %w", name, err)
	}
	id, err := createdJobID(r, s.d.Escrow)
	if err != nil {
		return fmt.Errorf("seed job %s: %w", name, err)
	}
	s.d.Jobs[name] = id
	if fund {
		if err := s.tx(ctx, AccountBuyer, "fundJob", name); err != nil {
			return err
		}
	}
	if complete {
		return s.complete(ctx, name, robot)
	}
	return nil
}

// complete builds the claim from the job as stored on chain, as the API does, so the
// seeding itself exercises the escrow's EIP-712 check.
func (s *seeder) complete(ctx context.Context, name, robot string) error {
	id := new(big.Int).SetUint64(s.d.Jobs[name])
	out, err := s.c.read(ctx, s.d.Escrow, ContractEscrow, "jobs", id)
	if err != nil {
		return fmt.Errorf("seed job %s: %w", name, err)
	}
	claim := CompletionClaim{
		JobID:          id,
		RobotID:        common.Hash(out[1].([32]byte)),
		JobSpecHash:    common.Hash(out[2].([32]byte)),
		Deadline:       out[4].(*big.Int),
		CompletionHash: crypto.Keccak256Hash([]byte("manifest:" + name)),
		Controller:     s.d.Robots[robot].Controller,
		QualityScore:   qualityScore,
		WorkUnits:      workUnits,
	}
	controller := DevKey(AccountActiveController)
	if robot == RobotDeactivated {
		controller = DevKey(AccountDeactivatedController)
	}
	sig, err := SignCompletionV2(controller, s.d.ChainID, s.d.Escrow, claim)
	if err != nil {
		return err
	}
	if _, err := s.c.call(ctx, DevKey(AccountRelayer), s.d.Escrow, ContractEscrow, "submitCompletionV2",
		id, claim.CompletionHash, claim.QualityScore, claim.WorkUnits, sig); err != nil {
		return fmt.Errorf("seed job %s: %w", name, err)
	}
	s.d.Claims[name] = Claim{CompletionHash: claim.CompletionHash, QualityScore: claim.QualityScore, WorkUnits: claim.WorkUnits, Signature: sig}
	return nil
}

// tx calls an escrow method whose first argument is the id of the named job.
func (s *seeder) tx(ctx context.Context, account int, method, name string, extra ...any) error {
	args := append([]any{new(big.Int).SetUint64(s.d.Jobs[name])}, extra...)
	if _, err := s.c.call(ctx, DevKey(account), s.d.Escrow, ContractEscrow, method, args...); err != nil {
		return fmt.Errorf("seed job %s: %w", name, err)
	}
	return nil
}

func (s *seeder) chainTime(ctx context.Context) (time.Time, error) {
	h, err := s.c.ec.HeaderByNumber(ctx, nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("read head of %s: %w", s.c.url, err)
	}
	return time.Unix(int64(h.Time), 0), nil
}

// jumpTo mines the next block at least at t, and at the wall clock if that is later, so
// a chain started in the past catches up with real time instead of running behind it.
func (s *seeder) jumpTo(ctx context.Context, t time.Time) error {
	if now := time.Now().Truncate(time.Second); now.After(t) {
		t = now
	}
	if err := s.c.rc.CallContext(ctx, nil, "evm_setNextBlockTimestamp", t.Unix()); err != nil {
		return fmt.Errorf("set next block timestamp on %s: %w", s.c.url, err)
	}
	if err := s.c.rc.CallContext(ctx, nil, "evm_mine"); err != nil {
		return fmt.Errorf("mine on %s: %w", s.c.url, err)
	}
	return nil
}

// read makes an eth_call to method of the named contract and unpacks the result.
func (c *conn) read(ctx context.Context, to common.Address, contract, method string, args ...any) ([]any, error) {
	art, err := LoadArtifact(contract)
	if err != nil {
		return nil, err
	}
	data, err := art.ABI.Pack(method, args...)
	if err != nil {
		return nil, fmt.Errorf("encode %s.%s: %w", contract, method, err)
	}
	out, err := c.ec.CallContract(ctx, ethereum.CallMsg{To: &to, Data: data}, nil)
	if err != nil {
		return nil, fmt.Errorf("call %s.%s at %s: %w", contract, method, to.Hex(), describeRevert(err))
	}
	vals, err := art.ABI.Unpack(method, out)
	if err != nil {
		return nil, fmt.Errorf("decode %s.%s from %s: %w", contract, method, to.Hex(), err)
	}
	return vals, nil
}

func createdJobID(r *types.Receipt, escrow common.Address) (uint64, error) {
	art, err := LoadArtifact(ContractEscrow)
	if err != nil {
		return 0, err
	}
	topic := art.ABI.Events["JobCreated"].ID
	for _, l := range r.Logs {
		if l.Address == escrow && len(l.Topics) > 1 && l.Topics[0] == topic {
			return new(big.Int).SetBytes(l.Topics[1].Bytes()).Uint64(), nil
		}
	}
	return 0, fmt.Errorf("no JobCreated event in transaction %s", r.TxHash.Hex())
}

func abiMaxUint256() *big.Int {
	return new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
}

// dialToSeed connects to rpcURL and reads what jobs seeded now take: a deadline
// openDeadline after the chain's time, and the active robot.
func dialToSeed(ctx context.Context, rpcURL string, d *Deployment) (c *conn, deadline *big.Int, robot common.Hash, err error) {
	if c, err = dial(ctx, rpcURL); err != nil {
		return nil, nil, common.Hash{}, err
	}
	now, err := (&seeder{c: c, d: d}).chainTime(ctx)
	if err != nil {
		c.close()
		return nil, nil, common.Hash{}, err
	}
	return c, big.NewInt(now.Add(openDeadline).Unix()), d.Robots[RobotActive].ID, nil
}

// seedChunk is how many jobs one seedJobs transaction creates: about 140k gas each,
// so a chunk stays well inside anvil's 30M block gas limit.
const seedChunk = 150

// SeedJobs adds n FUNDED jobs of the active robot, owned by the buyer, through the
// escrow's test-only seedJobs helper (no token moves), for benchmarks that need
// thousands of jobs. Their deadlines are 30 days after the chain's current time.
func SeedJobs(ctx context.Context, rpcURL string, d *Deployment, n int) error {
	if n <= 0 {
		return fmt.Errorf("seed jobs: count %d, want at least 1", n)
	}
	c, deadline, robot, err := dialToSeed(ctx, rpcURL, d)
	if err != nil {
		return err
	}
	defer c.close()
	art, err := LoadArtifact(ContractEscrow)
	if err != nil {
		return err
	}
	buyer := DevKey(AccountBuyer)
	gasFor := map[int]uint64{}
	for done := 0; done < n; {
		k := min(seedChunk, n-done)
		data, err := art.ABI.Pack("seedJobs", big.NewInt(int64(k)), robot, JobPrice, deadline)
		if err != nil {
			return fmt.Errorf("encode seedJobs: %w", err)
		}
		// Every full chunk costs the same gas, so one estimate serves them all.
		if _, ok := gasFor[k]; !ok {
			from := DevAddress(AccountBuyer)
			est, err := c.ec.EstimateGas(ctx, ethereum.CallMsg{From: from, To: &d.Escrow, Data: data})
			if err != nil {
				return fmt.Errorf("seed %d jobs: estimate gas: %w", k, describeRevert(err))
			}
			gasFor[k] = est + est/10
		}
		if _, err := c.send(ctx, buyer, &d.Escrow, data, gasFor[k]); err != nil {
			return fmt.Errorf("seed jobs %d..%d of %d: %w", done+1, done+k, n, err)
		}
		done += k
	}
	return nil
}

// manyChunk is how many jobs one seedJobsQuiet transaction writes: 50,000 jobs are
// about 7e9 gas.
const manyChunk = 50_000

// gasPerJob bounds what seedJobsQuiet spends on one job (about 140k: six fresh slots).
const gasPerJob = 150_000

// SeedManyJobs adds n FUNDED jobs of the active robot, owned by the buyer, through the
// escrow's test-only seedJobsQuiet helper: storage only, no events, 50,000 jobs per
// transaction and all of them in ONE block, so a million jobs take minutes rather than
// hours (anvil's cost per block grows with the state, so many blocks of seeding grow
// quadratically). For the block, mining on every transaction is paused and the block
// gas limit raised, and both are put back afterwards; the buyer is given the ether the
// large transactions need up front. Deadlines start 30 days after the chain's current
// time and step by one second per job. Start anvil with --prune-history (and --hardfork
// cancun) for a million jobs: see BigChainArgs.
func SeedManyJobs(ctx context.Context, rpcURL string, d *Deployment, n int) error {
	return seedMany(ctx, rpcURL, d, n, manyChunk)
}

func seedMany(ctx context.Context, rpcURL string, d *Deployment, n, chunk int) error {
	if n <= 0 {
		return fmt.Errorf("seed jobs: count %d, want at least 1", n)
	}
	c, err := dial(ctx, rpcURL)
	if err != nil {
		return err
	}
	defer c.close()
	head, err := c.ec.HeaderByNumber(ctx, nil)
	if err != nil {
		return fmt.Errorf("read the head block: %w", err)
	}
	var automine bool
	if err := c.rc.CallContext(ctx, &automine, "anvil_getAutomine"); err != nil {
		return fmt.Errorf("read anvil's automine setting: %w", err)
	}
	restore := context.WithoutCancel(ctx)
	gas := uint64(n) * gasPerJob
	if gas > head.GasLimit {
		if err := c.rc.CallContext(ctx, nil, "evm_setBlockGasLimit", hexutil.Uint64(gas)); err != nil {
			return fmt.Errorf("raise the block gas limit: %w", err)
		}
		// The chain is the caller's: leave its gas limit as it was.
		defer c.rc.CallContext(restore, nil, "evm_setBlockGasLimit", hexutil.Uint64(head.GasLimit))
	}
	if automine {
		if err := c.rc.CallContext(ctx, nil, "evm_setAutomine", false); err != nil {
			return fmt.Errorf("pause automine: %w", err)
		}
		defer c.rc.CallContext(restore, nil, "evm_setAutomine", true)
	}
	// anvil checks gas × fee cap against the balance before it takes a transaction; a
	// 7e9-gas one needs more ether up front than a dev account holds.
	need := new(big.Int).Mul(new(big.Int).SetUint64(gas), devFeeCap)
	bal, err := c.ec.BalanceAt(ctx, d.Buyer, nil)
	if err != nil {
		return fmt.Errorf("read the buyer's balance: %w", err)
	}
	if bal.Cmp(need) < 0 {
		if err := c.rc.CallContext(ctx, nil, "anvil_setBalance", d.Buyer, (*hexutil.Big)(new(big.Int).Add(bal, need))); err != nil {
			return fmt.Errorf("fund the buyer for seeding: %w", err)
		}
	}
	art, err := LoadArtifact(ContractEscrow)
	if err != nil {
		return err
	}
	deadline := big.NewInt(time.Unix(int64(head.Time), 0).Add(openDeadline).Unix())
	buyer := DevKey(AccountBuyer)
	robot := d.Robots[RobotActive].ID
	var hashes []common.Hash
	for done := 0; done < n; {
		k := min(chunk, n-done)
		first := new(big.Int).Add(deadline, big.NewInt(int64(done)))
		data, err := art.ABI.Pack("seedJobsQuiet", big.NewInt(int64(k)), robot, JobPrice, first)
		if err != nil {
			return fmt.Errorf("encode seedJobsQuiet: %w", err)
		}
		h, err := c.submit(ctx, buyer, &d.Escrow, data, uint64(k)*gasPerJob)
		if err != nil {
			return fmt.Errorf("seed jobs %d..%d of %d: %w", done+1, done+k, n, err)
		}
		hashes = append(hashes, h)
		done += k
	}
	if err := c.rc.CallContext(ctx, nil, "evm_mine"); err != nil {
		return fmt.Errorf("mine the seeding block: %w", err)
	}
	for i, h := range hashes {
		if _, err := c.mined(ctx, h); err != nil {
			return fmt.Errorf("seed jobs, transaction %d of %d: %w", i+1, len(hashes), err)
		}
	}
	return nil
}

// emitChunk is how many jobs' events one emitJobEvents transaction emits: about 7k
// gas a job (three logs), so 1,000 stay well inside anvil's 30M block gas limit.
const emitChunk = 1000

// EmitJobEvents emits, through the escrow's test-only emitJobEvents helper, the
// JobCreated, JobCreatedV2 and JobFunded events of n FUNDED jobs of the active robot
// bought by the buyer, with ids from firstID, storing nothing: 3n events for an event
// scan to find, in one block per 1,000 jobs, on a chain whose state does not grow
// (anvil's cost per mined block grows with it). The jobs do not exist; pick ids past
// the escrow's jobCount so they are not mistaken for real ones.
func EmitJobEvents(ctx context.Context, rpcURL string, d *Deployment, firstID uint64, n int) error {
	if n <= 0 {
		return fmt.Errorf("emit job events: count %d, want at least 1", n)
	}
	c, deadline, robot, err := dialToSeed(ctx, rpcURL, d)
	if err != nil {
		return err
	}
	defer c.close()
	for done := 0; done < n; {
		k := min(emitChunk, n-done)
		first := new(big.Int).SetUint64(firstID + uint64(done))
		if _, err := c.call(ctx, DevKey(AccountBuyer), d.Escrow, ContractEscrow, "emitJobEvents", first, big.NewInt(int64(k)), robot, JobPrice, deadline); err != nil {
			return fmt.Errorf("emit events of jobs %s..: %w", first, err)
		}
		done += k
	}
	return nil
}
