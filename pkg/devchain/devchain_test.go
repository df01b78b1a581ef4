package devchain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func testConn(t *testing.T, url string) *conn {
	t.Helper()
	c, err := dial(testCtx(t), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	return c
}

// selector is computed from the error's name here, not taken from the compiled ABI, so
// a misnamed or argument-carrying error in the contract fails the test.
func selector(name string) []byte { return crypto.Keccak256([]byte(name + "()"))[:4] }

// revertOf simulates a call from `from` and returns the revert data, failing the test
// when the call does not revert.
func revertOf(t *testing.T, c *conn, from, to common.Address, contract, method string, args ...any) []byte {
	t.Helper()
	art, err := LoadArtifact(contract)
	if err != nil {
		t.Fatal(err)
	}
	data, err := art.ABI.Pack(method, args...)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ec.CallContract(testCtx(t), ethereum.CallMsg{From: from, To: &to, Data: data}, nil)
	if err == nil {
		t.Fatalf("%s.%s(%v) did not revert", contract, method, args)
	}
	var de rpc.DataError
	if !errors.As(err, &de) {
		t.Fatalf("%s.%s: error without revert data: %v", contract, method, err)
	}
	s, _ := de.ErrorData().(string)
	b, err := hexutil.Decode(s)
	if err != nil {
		t.Fatalf("%s.%s: revert data %q: %v", contract, method, s, err)
	}
	return b
}

func assertRevert(t *testing.T, want string, got []byte) {
	t.Helper()
	if !bytes.Equal(got, selector(want)) {
		t.Errorf("revert data %x (%s), want exactly %s() = %x", got, ErrorName(got), want, selector(want))
	}
}

// assertRevertArgs checks revert data is exactly the error with signature sig and
// the given ABI-encoded argument words.
func assertRevertArgs(t *testing.T, sig string, got []byte, words ...[]byte) {
	t.Helper()
	want := crypto.Keccak256([]byte(sig))[:4]
	for _, w := range words {
		want = append(want, w...)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("revert data %x (%s), want %s = %x", got, ErrorName(got), sig, want)
	}
}

type job struct {
	Buyer          common.Address
	RobotID        common.Hash
	JobSpecHash    common.Hash
	Price          *big.Int
	Deadline       *big.Int
	Status         uint8
	CompletionHash common.Hash
	TokenID        *big.Int
	SettleAfter    *big.Int
	QualityScore   uint8
	WorkUnits      uint32
}

// readJob reads the public mapping getter jobs(uint256), the runbook's query.
func readJob(t *testing.T, c *conn, escrow common.Address, id uint64) job {
	t.Helper()
	out, err := c.read(testCtx(t), escrow, ContractEscrow, "jobs", new(big.Int).SetUint64(id))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 11 {
		t.Fatalf("jobs(%d) returned %d values, want 11", id, len(out))
	}
	return job{
		Buyer: out[0].(common.Address), RobotID: out[1].([32]byte), JobSpecHash: out[2].([32]byte),
		Price: out[3].(*big.Int), Deadline: out[4].(*big.Int), Status: out[5].(uint8),
		CompletionHash: out[6].([32]byte), TokenID: out[7].(*big.Int), SettleAfter: out[8].(*big.Int),
		QualityScore: out[9].(uint8), WorkUnits: out[10].(uint32),
	}
}

func readOne[T any](t *testing.T, c *conn, to common.Address, contract, method string, args ...any) T {
	t.Helper()
	out, err := c.read(testCtx(t), to, contract, method, args...)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := out[0].(T)
	if !ok {
		t.Fatalf("%s.%s returned %T", contract, method, out[0])
	}
	return v
}

func headTime(t *testing.T, c *conn) int64 {
	t.Helper()
	h, err := c.ec.HeaderByNumber(testCtx(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return int64(h.Time)
}

// claimFor builds the claim for a job from the chain, as a relayer would.
func claimFor(t *testing.T, c *conn, d *Deployment, id uint64, controller common.Address, completion common.Hash) CompletionClaim {
	j := readJob(t, c, d.Escrow, id)
	return CompletionClaim{
		JobID: new(big.Int).SetUint64(id), JobSpecHash: j.JobSpecHash, CompletionHash: completion,
		RobotID: j.RobotID, Controller: controller, Deadline: j.Deadline, QualityScore: 95, WorkUnits: 7,
	}
}

func submitArgs(cl CompletionClaim, sig []byte) []any {
	return []any{cl.JobID, cl.CompletionHash, cl.QualityScore, cl.WorkUnits, sig}
}

func TestDevKeysAreAnvilsAccounts(t *testing.T) {
	t.Parallel()
	a := StartAnvilT(t, AnvilOptions{})
	var accounts []common.Address
	if err := a.RPC(testCtx(t), &accounts, "eth_accounts"); err != nil {
		t.Fatal(err)
	}
	if len(accounts) != DevAccounts {
		t.Fatalf("anvil has %d accounts, want %d", len(accounts), DevAccounts)
	}
	for i, want := range accounts {
		if got := DevAddress(i); got != want {
			t.Errorf("DevAddress(%d) = %s, anvil's account %d is %s", i, got, i, want)
		}
	}
	for nonce, want := range []common.Address{LocalToken, LocalIdentity, LocalEscrow, LocalPausableEscrow} {
		if got := crypto.CreateAddress(DevAddress(AccountAdmin), uint64(nonce)); got != want {
			t.Errorf("contract at admin nonce %d is %s, constant says %s", nonce, got, want)
		}
	}
}

func TestDeployOnFreshAnvilGivesTheLocalAddresses(t *testing.T) {
	t.Parallel()
	// Deploy itself, not StartT's snapshot of it.
	a := StartAnvilT(t, AnvilOptions{StartTime: time.Now().Add(-DeployHistory)})
	d, err := Deploy(testCtx(t), a.URL)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]common.Address{
		"token":          {d.Token, LocalToken},
		"identity":       {d.Identity, LocalIdentity},
		"escrow":         {d.Escrow, LocalEscrow},
		"pausableEscrow": {d.PausableEscrow, LocalPausableEscrow},
	}
	c := testConn(t, a.URL)
	for name, pair := range want {
		if pair[0] != pair[1] {
			t.Errorf("%s deployed at %s, want %s", name, pair[0], pair[1])
		}
		code, err := c.ec.CodeAt(testCtx(t), pair[0], nil)
		if err != nil || len(code) == 0 {
			t.Errorf("%s at %s has no code (err %v)", name, pair[0], err)
		}
	}
	if d.ChainID != 31337 || d.RPCURL != a.URL {
		t.Errorf("deployment chain %d at %s, want 31337 at %s", d.ChainID, d.RPCURL, a.URL)
	}
	wiring := map[string]common.Address{
		"token": d.Token, "identity": d.Identity, "treasury": d.Treasury, "admin": d.Admin,
		"bond": {}, "receipt": {}, "disputeManager": {},
	}
	for method, want := range wiring {
		if got := readOne[common.Address](t, c, d.Escrow, ContractEscrow, method); got != want {
			t.Errorf("escrow.%s() = %s, want %s", method, got, want)
		}
	}
	if dec := readOne[uint8](t, c, d.Token, ContractToken, "decimals"); dec != 6 {
		t.Errorf("token decimals %d, want 6", dec)
	}
	if sym := readOne[string](t, c, d.Token, ContractToken, "symbol"); sym != "USDC" {
		t.Errorf("token symbol %q, want USDC", sym)
	}
}

func TestDeploymentJSONHasNoKeysAndStableNames(t *testing.T) {
	t.Parallel()
	_, d := StartT(t)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for i := range DevAccounts {
		if bytes.Contains(bytes.ToLower(b), []byte(strings.TrimPrefix(DevKeyHex(i), "0x"))) {
			t.Fatalf("deployment JSON contains dev key %d", i)
		}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"chainId", "rpcUrl", "escrow", "identity", "token", "pausableEscrow", "treasury", "admin", "relayer", "buyer", "robots", "jobs"} {
		if _, ok := m[k]; !ok {
			t.Errorf("deployment JSON lacks %q: %s", k, b)
		}
	}
	var back Deployment
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Escrow != d.Escrow || back.Jobs[JobFunded] != d.Jobs[JobFunded] || back.Robots[RobotActive] != d.Robots[RobotActive] {
		t.Errorf("deployment does not survive a JSON round trip: %s", b)
	}
}

func TestSeededJobsAreInTheirStatus(t *testing.T) {
	t.Parallel()
	a, d := StartT(t)
	c := testConn(t, a.URL)
	if len(d.Jobs) != len(seededStatus) {
		t.Errorf("deployment has %d jobs, want %d: %v", len(d.Jobs), len(seededStatus), d.Jobs)
	}
	seen := map[uint8]bool{}
	jobs := map[string]job{}
	for name, id := range d.Jobs {
		want, ok := SeededStatus(name)
		if !ok {
			t.Errorf("job %q has no expected status", name)
			continue
		}
		j := readJob(t, c, d.Escrow, id)
		jobs[name] = j
		if j.Status != want {
			t.Errorf("job %s (id %d) has status %d, want %d", name, id, j.Status, want)
		}
		if j.Buyer != d.Buyer || j.Price.Cmp(JobPrice) != 0 {
			t.Errorf("job %s: buyer %s price %s, want %s and %s", name, j.Buyer, j.Price, d.Buyer, JobPrice)
		}
		seen[j.Status] = true
	}
	for s := StatusCreated; s <= StatusRefunded; s++ {
		if !seen[s] {
			t.Errorf("no seeded job in status %d", s)
		}
	}
	if n := readOne[*big.Int](t, c, d.Escrow, ContractEscrow, "jobCount"); n.Uint64() != uint64(len(d.Jobs)) {
		t.Errorf("jobCount %s, want %d", n, len(d.Jobs))
	}

	now := headTime(t, c)
	if wall := time.Now().Unix(); now < wall-120 || now > wall+120 {
		t.Errorf("chain clock %d is not at the wall clock %d after Deploy", now, wall)
	}
	robots := map[string]string{JobFundedDeactivated: RobotDeactivated, JobFundedUnregistered: RobotUnregistered, JobFunded: RobotActive}
	for jobName, robot := range robots {
		if jobs[jobName].RobotID != d.Robots[robot].ID {
			t.Errorf("job %s is for robot %s, want %s", jobName, jobs[jobName].RobotID, robot)
		}
	}
	if dl := jobs[JobFundedSoon].Deadline.Int64(); dl <= now || dl > now+3600 {
		t.Errorf("FUNDED_SOON deadline %d is not within the hour after %d", dl, now)
	}
	if dl := jobs[JobFunded].Deadline.Int64(); dl < now+29*86400 {
		t.Errorf("FUNDED deadline %d is not weeks after %d", dl, now)
	}
	if dl := jobs[JobFundedOverdue].Deadline.Int64(); dl >= now {
		t.Errorf("FUNDED_OVERDUE deadline %d has not passed at %d", dl, now)
	}
	if sa := jobs[JobCompleted].SettleAfter.Int64(); sa <= now {
		t.Errorf("COMPLETED settleAfter %d already passed at %d", sa, now)
	}
	if sa := jobs[JobCompletedSettleable].SettleAfter.Int64(); sa == 0 || sa > now {
		t.Errorf("COMPLETED_SETTLEABLE settleAfter %d not passed at %d", sa, now)
	}
	if jobs[JobSettled].TokenID.Sign() == 0 {
		t.Error("SETTLED job has no token id")
	}
	done := jobs[JobCompleted]
	claim := d.Claims[JobCompleted]
	if done.CompletionHash != claim.CompletionHash || done.QualityScore != claim.QualityScore || done.WorkUnits != claim.WorkUnits {
		t.Errorf("COMPLETED job holds %x/%d/%d, claim was %x/%d/%d", done.CompletionHash, done.QualityScore, done.WorkUnits,
			claim.CompletionHash, claim.QualityScore, claim.WorkUnits)
	}
	key := ClaimKey(new(big.Int).SetUint64(d.Jobs[JobCompleted]), claim.CompletionHash, claim.QualityScore, claim.WorkUnits)
	if !readOne[bool](t, c, d.Escrow, ContractEscrow, "claimUsed", key) {
		t.Error("claimUsed is false for the COMPLETED job's claim")
	}
	if reopened := jobs[JobFundedReopened]; reopened.CompletionHash != (common.Hash{}) || reopened.SettleAfter.Sign() != 0 {
		t.Errorf("FUNDED_REOPENED still holds a completion: %+v", reopened)
	}
	if st := readOne[[32]byte](t, c, d.Escrow, ContractEscrow, "jobServiceTypes", new(big.Int).SetUint64(d.Jobs[JobFunded])); common.Hash(st) != ServiceType {
		t.Errorf("jobServiceTypes(FUNDED) = %x, want the seeded service type %s", st, ServiceType.Hex())
	}
	// refund() emits JobRefunded(jobId, buyer, amount), as the deployed escrow does.
	refunded := new(big.Int).SetUint64(d.Jobs[JobRefunded])
	art, err := LoadArtifact(ContractEscrow)
	if err != nil {
		t.Fatal(err)
	}
	ev := art.ABI.Events["JobRefunded"]
	logs, err := c.ec.FilterLogs(testCtx(t), ethereum.FilterQuery{Addresses: []common.Address{d.Escrow}, Topics: [][]common.Hash{{ev.ID}, {common.BigToHash(refunded)}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 {
		t.Fatalf("%d JobRefunded logs for job %s, want 1", len(logs), refunded)
	}
	if vals, err := ev.Inputs.NonIndexed().Unpack(logs[0].Data); err != nil || vals[0].(common.Address) != d.Buyer || vals[1].(*big.Int).Cmp(JobPrice) != 0 {
		t.Errorf("JobRefunded data %v (%v), want buyer %s amount %s", vals, err, d.Buyer.Hex(), JobPrice)
	}

	// Money moved as the lifecycle says: 11 jobs funded, one refunded, one settled
	// with a 2.5% fee.
	balance := func(who common.Address) *big.Int {
		return readOne[*big.Int](t, c, d.Token, ContractToken, "balanceOf", who)
	}
	price := JobPrice.Int64()
	fee := price * 250 / 10000
	checks := []struct {
		who  string
		addr common.Address
		want int64
	}{
		{"buyer", d.Buyer, BuyerMint.Int64() - 10*price},
		{"escrow", d.Escrow, 9 * price},
		{"treasury", d.Treasury, fee},
		{"active controller", d.Robots[RobotActive].Controller, price - fee},
	}
	for _, ck := range checks {
		if got := balance(ck.addr); got.Int64() != ck.want {
			t.Errorf("%s holds %s token units, want %d", ck.who, got, ck.want)
		}
	}
}

func TestSeededRobots(t *testing.T) {
	t.Parallel()
	a, d := StartT(t)
	c := testConn(t, a.URL)
	cases := []struct {
		name       string
		controller common.Address
		active     bool
	}{
		{RobotActive, DevAddress(AccountActiveController), true},
		{RobotDeactivated, DevAddress(AccountDeactivatedController), false},
		{RobotUnregistered, common.Address{}, false},
	}
	for _, tc := range cases {
		r := d.Robots[tc.name]
		if r.ID != crypto.Keccak256Hash([]byte("tenant-demo:"+tc.name)) {
			t.Errorf("robot %s id %s is not keccak256(tenant-demo:%s)", tc.name, r.ID, tc.name)
		}
		if r.Controller != tc.controller {
			t.Errorf("deployment says robot %s controller %s, want %s", tc.name, r.Controller, tc.controller)
		}
		if got := readOne[common.Address](t, c, d.Identity, ContractIdentity, "getController", r.ID); got != tc.controller {
			t.Errorf("getController(%s) = %s, want %s", tc.name, got, tc.controller)
		}
		if got := readOne[bool](t, c, d.Identity, ContractIdentity, "isActive", r.ID); got != tc.active {
			t.Errorf("isActive(%s) = %v, want %v", tc.name, got, tc.active)
		}
	}
	out, err := c.read(testCtx(t), d.Identity, ContractIdentity, "getRobot", d.Robots[RobotActive].ID)
	if err != nil {
		t.Fatal(err)
	}
	robot := out[0].(struct {
		Controller   common.Address `json:"controller"`
		Pubkey       []byte         `json:"pubkey"`
		MetadataHash [32]byte       `json:"metadataHash"`
		Active       bool           `json:"active"`
	})
	if want := crypto.CompressPubkey(&DevKey(AccountActiveController).PublicKey); !bytes.Equal(robot.Pubkey, want) || !robot.Active {
		t.Errorf("getRobot(active) = %+v, want pubkey %x and active", robot, want)
	}

	// Only the controller may deactivate; an unknown robot is RobotNotFound.
	other := DevAddress(FirstFreeAccount)
	assertRevert(t, "NotAuthorized", revertOf(t, c, other, d.Identity, ContractIdentity, "deactivateRobot", d.Robots[RobotActive].ID))
	assertRevert(t, "RobotNotFound", revertOf(t, c, other, d.Identity, ContractIdentity, "deactivateRobot", d.Robots[RobotUnregistered].ID))
	assertRevert(t, "RobotAlreadyExists", revertOf(t, c, other, d.Identity, ContractIdentity, "registerRobot", d.Robots[RobotActive].ID, other, []byte{1}))
	assertRevert(t, "ZeroAddress", revertOf(t, c, other, d.Identity, ContractIdentity, "registerRobot", RobotID(Tenant, "new"), common.Address{}, []byte{1}))
}

func TestSubmitCompletionV2(t *testing.T) {
	t.Parallel()
	a, d := StartT(t)
	ctx := testCtx(t)
	c := testConn(t, a.URL)
	relayer := DevAddress(AccountRelayer)
	controller := DevKey(AccountActiveController)
	id := d.Jobs[JobFunded]
	claim := claimFor(t, c, d, id, DevAddress(AccountActiveController), crypto.Keccak256Hash([]byte("manifest:test")))

	t.Run("wrong signer", func(t *testing.T) {
		sig, err := SignCompletionV2(DevKey(FirstFreeAccount), d.ChainID, d.Escrow, claim)
		if err != nil {
			t.Fatal(err)
		}
		assertRevert(t, "InvalidSignature", revertOf(t, c, relayer, d.Escrow, ContractEscrow, "submitCompletionV2", submitArgs(claim, sig)...))
	})
	t.Run("wrong chain id", func(t *testing.T) {
		sig, err := SignCompletionV2(controller, 8453, d.Escrow, claim)
		if err != nil {
			t.Fatal(err)
		}
		assertRevert(t, "InvalidSignature", revertOf(t, c, relayer, d.Escrow, ContractEscrow, "submitCompletionV2", submitArgs(claim, sig)...))
	})
	t.Run("truncated, high-s and bad v", func(t *testing.T) {
		sig, err := SignCompletionV2(controller, d.ChainID, d.Escrow, claim)
		if err != nil {
			t.Fatal(err)
		}
		// Like the deployed escrow, the double recovers with OpenZeppelin's ECDSA.recover:
		// a signature it cannot recover reverts with OpenZeppelin's own errors, which
		// carry arguments.
		assertRevertArgs(t, "ECDSAInvalidSignatureLength(uint256)", revertOf(t, c, relayer, d.Escrow, ContractEscrow, "submitCompletionV2", submitArgs(claim, sig[:64])...),
			common.LeftPadBytes([]byte{64}, 32))
		// (r, n-s, v^1) recovers the same key through bare ecrecover, but is malleable.
		n := crypto.S256().Params().N
		high := append([]byte{}, sig...)
		copy(high[32:64], common.LeftPadBytes(new(big.Int).Sub(n, new(big.Int).SetBytes(sig[32:64])).Bytes(), 32))
		high[64] ^= 1
		assertRevertArgs(t, "ECDSAInvalidSignatureS(bytes32)", revertOf(t, c, relayer, d.Escrow, ContractEscrow, "submitCompletionV2", submitArgs(claim, high)...),
			high[32:64])
		badV := append([]byte{}, sig...)
		badV[64] = 29
		assertRevert(t, "ECDSAInvalidSignature", revertOf(t, c, relayer, d.Escrow, ContractEscrow, "submitCompletionV2", submitArgs(claim, badV)...))
	})
	t.Run("checks before the signature", func(t *testing.T) {
		cases := []struct {
			err  string
			job  uint64
			name string
		}{
			{"JobNotFound", 9999, ""},
			{"InvalidStatus", d.Jobs[JobCreated], JobCreated},
			{"InvalidStatus", d.Jobs[JobCompleted], JobCompleted},
			{"DeadlinePassed", d.Jobs[JobFundedOverdue], JobFundedOverdue},
			{"RobotNotFound", d.Jobs[JobFundedUnregistered], JobFundedUnregistered},
		}
		for _, tc := range cases {
			cl := claim
			cl.JobID = new(big.Int).SetUint64(tc.job)
			assertRevert(t, tc.err, revertOf(t, c, relayer, d.Escrow, ContractEscrow, "submitCompletionV2", submitArgs(cl, make([]byte, 65))...))
		}
		// A reopened job's old claim is spent even though the job is FUNDED again.
		old := d.Claims[JobFundedReopened]
		assertRevert(t, "ClaimAlreadyUsed", revertOf(t, c, relayer, d.Escrow, ContractEscrow, "submitCompletionV2",
			new(big.Int).SetUint64(d.Jobs[JobFundedReopened]), old.CompletionHash, old.QualityScore, old.WorkUnits, []byte(old.Signature)))
	})
	t.Run("deactivated robot is not checked by the escrow", func(t *testing.T) {
		cl := claimFor(t, c, d, d.Jobs[JobFundedDeactivated], DevAddress(AccountDeactivatedController), crypto.Keccak256Hash([]byte("x")))
		sig, err := SignCompletionV2(DevKey(AccountDeactivatedController), d.ChainID, d.Escrow, cl)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.call(ctx, DevKey(FirstFreeAccount), d.Escrow, ContractEscrow, "submitCompletionV2", submitArgs(cl, sig)...); err != nil {
			t.Fatal(err)
		}
		if s := readJob(t, c, d.Escrow, d.Jobs[JobFundedDeactivated]).Status; s != StatusCompleted {
			t.Errorf("status %d after a valid completion for a deactivated robot, want COMPLETED", s)
		}
	})
	t.Run("valid signature", func(t *testing.T) {
		sig, err := SignCompletionV2(controller, d.ChainID, d.Escrow, claim)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.call(ctx, DevKey(AccountRelayer), d.Escrow, ContractEscrow, "submitCompletionV2", submitArgs(claim, sig)...)
		if err != nil {
			t.Fatal(err)
		}
		block, err := c.ec.HeaderByNumber(ctx, r.BlockNumber)
		if err != nil {
			t.Fatal(err)
		}
		j := readJob(t, c, d.Escrow, id)
		if j.Status != StatusCompleted || j.CompletionHash != claim.CompletionHash || j.QualityScore != 95 || j.WorkUnits != 7 {
			t.Errorf("job after completion: %+v", j)
		}
		if want := int64(block.Time) + 86400; j.SettleAfter.Int64() != want {
			t.Errorf("settleAfter %s, want block time + 86400 = %d", j.SettleAfter, want)
		}
		topic := crypto.Keccak256Hash([]byte("CompletionSubmitted(uint256,bytes32)"))
		if len(r.Logs) != 1 || r.Logs[0].Topics[0] != topic || r.Logs[0].Topics[1] != common.BigToHash(claim.JobID) ||
			!bytes.Equal(r.Logs[0].Data, claim.CompletionHash.Bytes()) {
			t.Errorf("logs %+v, want one CompletionSubmitted(%d, %x)", r.Logs, id, claim.CompletionHash)
		}
		if !readOne[bool](t, c, d.Escrow, ContractEscrow, "claimUsed", ClaimKey(claim.JobID, claim.CompletionHash, 95, 7)) {
			t.Error("claim key not marked used")
		}
		assertRevert(t, "InvalidStatus", revertOf(t, c, relayer, d.Escrow, ContractEscrow, "submitCompletionV2", submitArgs(claim, sig)...))
	})
	t.Run("deadline passes with anvil's clock", func(t *testing.T) {
		soon := d.Jobs[JobFundedSoon]
		cl := claimFor(t, c, d, soon, DevAddress(AccountActiveController), crypto.Keccak256Hash([]byte("late")))
		sig, err := SignCompletionV2(controller, d.ChainID, d.Escrow, cl)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.IncreaseTime(ctx, 3601); err != nil {
			t.Fatal(err)
		}
		assertRevert(t, "DeadlinePassed", revertOf(t, c, relayer, d.Escrow, ContractEscrow, "submitCompletionV2", submitArgs(cl, sig)...))
	})
}

func TestEIP712DomainAndDigest(t *testing.T) {
	t.Parallel()
	a, d := StartT(t)
	c := testConn(t, a.URL)
	out, err := c.read(testCtx(t), d.Escrow, ContractEscrow, "eip712Domain")
	if err != nil {
		t.Fatal(err)
	}
	fields := out[0].([1]byte)
	if fields[0] != 0x0f || out[1].(string) != "VRWX" || out[2].(string) != "1" ||
		out[3].(*big.Int).Uint64() != 31337 || out[4].(common.Address) != d.Escrow {
		t.Errorf("eip712Domain() = %x %q %q %v %s, want 0f VRWX 1 31337 %s", fields, out[1], out[2], out[3], out[4], d.Escrow)
	}

	// The contract's digest of a hand-encoded struct hash equals go-ethereum's typed-data
	// digest of the same claim: the type string and field order agree.
	claim := claimFor(t, c, d, d.Jobs[JobFunded], DevAddress(AccountActiveController), common.HexToHash("0xabc"))
	typeHash := crypto.Keccak256([]byte("CompletionClaimV2(uint256 jobId,bytes32 jobSpecHash,bytes32 completionHash,bytes32 robotId,address controller,uint256 deadline,uint8 qualityScore,uint32 workUnits)"))
	word := func(b []byte) []byte { return common.LeftPadBytes(b, 32) }
	structHash := crypto.Keccak256Hash(typeHash, word(claim.JobID.Bytes()), claim.JobSpecHash[:], claim.CompletionHash[:],
		claim.RobotID[:], word(claim.Controller[:]), word(claim.Deadline.Bytes()), word([]byte{claim.QualityScore}),
		word(big.NewInt(int64(claim.WorkUnits)).Bytes()))
	onChain := readOne[[32]byte](t, c, d.Escrow, ContractEscrow, "hashTypedDataV4", structHash)
	local, err := ClaimDigest(d.ChainID, d.Escrow, claim)
	if err != nil {
		t.Fatal(err)
	}
	if common.Hash(onChain) != local {
		t.Errorf("hashTypedDataV4 = %x, ClaimDigest = %x", onChain, local)
	}
}

func TestPauseSwitch(t *testing.T) {
	t.Parallel()
	a, d := StartT(t)
	ctx := testCtx(t)
	c := testConn(t, a.URL)
	// The plain escrow, like the deployed one, has no paused(): the call reverts empty.
	if got := revertOf(t, c, d.Relayer, d.Escrow, ContractPausableEscrow, "paused"); len(got) != 0 {
		t.Errorf("paused() on the plain escrow reverted with %x, want no data", got)
	}
	if readOne[bool](t, c, d.PausableEscrow, ContractPausableEscrow, "paused") {
		t.Error("pausable escrow starts paused")
	}
	assertRevert(t, "NotAuthorized", revertOf(t, c, d.Relayer, d.PausableEscrow, ContractPausableEscrow, "pause"))
	if _, err := Transact(ctx, a.URL, DevKey(AccountRelayer), d.PausableEscrow, ContractPausableEscrow, "pause"); err == nil ||
		!strings.Contains(err.Error(), "NotAuthorized()") {
		t.Errorf("pause() by the relayer: %v, want an error naming NotAuthorized()", err)
	}
	if _, err := Transact(ctx, a.URL, DevKey(AccountAdmin), d.PausableEscrow, ContractPausableEscrow, "pause"); err != nil {
		t.Fatal(err)
	}
	if !readOne[bool](t, c, d.PausableEscrow, ContractPausableEscrow, "paused") {
		t.Error("paused() false after pause()")
	}
	assertRevert(t, "EnforcedPause", revertOf(t, c, d.Buyer, d.PausableEscrow, ContractPausableEscrow, "createJob",
		d.Robots[RobotActive].ID, common.Hash{}, JobPrice, big.NewInt(headTime(t, c)+3600)))
}

func TestSeedJobsGrowsJobCount(t *testing.T) {
	t.Parallel()
	a, d := StartT(t)
	ctx := testCtx(t)
	c := testConn(t, a.URL)
	before := readOne[*big.Int](t, c, d.Escrow, ContractEscrow, "jobCount").Uint64()
	const n = seedChunk + 7 // one full chunk and a remainder
	if err := SeedJobs(ctx, a.URL, d, n); err != nil {
		t.Fatal(err)
	}
	after := readOne[*big.Int](t, c, d.Escrow, ContractEscrow, "jobCount").Uint64()
	if after != before+n {
		t.Fatalf("jobCount %d after seeding %d onto %d", after, n, before)
	}
	for _, id := range []uint64{before + 1, after} {
		j := readJob(t, c, d.Escrow, id)
		if j.Status != StatusFunded || j.Buyer != d.Buyer || j.RobotID != d.Robots[RobotActive].ID || j.Deadline.Int64() <= headTime(t, c) {
			t.Errorf("seeded job %d: %+v", id, j)
		}
	}
	if err := SeedJobs(ctx, a.URL, d, 0); err == nil {
		t.Error("SeedJobs(0) succeeded")
	}
}

// SeedManyJobs writes ordinary FUNDED jobs in large transactions in one block with no
// events, and leaves the chain's block gas limit and automine as it found them.
func TestSeedManyJobsWritesStorageOnly(t *testing.T) {
	a, d := StartT(t)
	ctx := testCtx(t)
	c := testConn(t, a.URL)
	before := readOne[*big.Int](t, c, d.Escrow, ContractEscrow, "jobCount").Uint64()
	h0, err := c.ec.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 1,200 jobs in chunks of 500: three transactions (the last a remainder) in one
	// block, above the 30M block gas limit anvil starts with.
	const n, chunk = 1200, 500
	if err := seedMany(ctx, a.URL, d, n, chunk); err != nil {
		t.Fatal(err)
	}
	h1, err := c.ec.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	after := readOne[*big.Int](t, c, d.Escrow, ContractEscrow, "jobCount").Uint64()
	if after != before+n {
		t.Fatalf("jobCount %d after seeding %d onto %d", after, n, before)
	}
	if got := h1.Number.Uint64() - h0.Number.Uint64(); got != 1 {
		t.Errorf("%d blocks mined for %d jobs in chunks of %d, want 1", got, n, chunk)
	}
	first := readJob(t, c, d.Escrow, before+1)
	for _, id := range []uint64{before + 1, before + chunk + 1, after} {
		j := readJob(t, c, d.Escrow, id)
		wantDeadline := first.Deadline.Int64() + int64(id-before-1)
		if j.Status != StatusFunded || j.Buyer != d.Buyer || j.RobotID != d.Robots[RobotActive].ID || j.Price.Cmp(JobPrice) != 0 ||
			j.Deadline.Int64() != wantDeadline || j.Deadline.Int64() <= headTime(t, c) || j.JobSpecHash == (common.Hash{}) {
			t.Errorf("seeded job %d: %+v (deadline want %d)", id, j, wantDeadline)
		}
	}
	logs, err := c.ec.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: new(big.Int).Add(h0.Number, big.NewInt(1)), ToBlock: h1.Number, Addresses: []common.Address{d.Escrow}})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 0 {
		t.Errorf("seedJobsQuiet emitted %d logs, want none", len(logs))
	}
	// The limit was raised for the seeding blocks and is back for the next one.
	if h1.GasLimit <= h0.GasLimit {
		t.Errorf("seeding block's gas limit %d, not above the chain's %d", h1.GasLimit, h0.GasLimit)
	}
	if err := a.Mine(ctx); err != nil {
		t.Fatal(err)
	}
	h2, err := c.ec.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h2.GasLimit != h0.GasLimit {
		t.Errorf("block gas limit %d after seeding, was %d", h2.GasLimit, h0.GasLimit)
	}
	var automine bool
	if err := a.RPC(ctx, &automine, "anvil_getAutomine"); err != nil || !automine {
		t.Errorf("automine %v (%v) after seeding, want it back on", automine, err)
	}
	if err := SeedManyJobs(ctx, a.URL, d, 0); err == nil {
		t.Error("SeedManyJobs(0) succeeded")
	}
}

// EmitJobEvents emits the three events of each job, with the ids asked for, and
// stores nothing: jobCount is unchanged and the jobs do not exist.
func TestEmitJobEventsStoresNothing(t *testing.T) {
	a, d := StartT(t)
	ctx := testCtx(t)
	c := testConn(t, a.URL)
	before := readOne[*big.Int](t, c, d.Escrow, ContractEscrow, "jobCount").Uint64()
	h0, err := c.ec.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const first, n = 1_000_001, 1500 // two transactions: 1,000 jobs and 500
	if err := EmitJobEvents(ctx, a.URL, d, first, n); err != nil {
		t.Fatal(err)
	}
	logs, err := c.ec.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: new(big.Int).SetUint64(h0 + 1), Addresses: []common.Address{d.Escrow}})
	if err != nil {
		t.Fatal(err)
	}
	art, err := LoadArtifact(ContractEscrow)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"JobCreated", "JobCreatedV2", "JobFunded"}
	if len(logs) != 3*n {
		t.Fatalf("%d logs, want %d", len(logs), 3*n)
	}
	for i, l := range logs {
		id := new(big.Int).SetBytes(l.Topics[1].Bytes()).Uint64()
		if l.Topics[0] != art.ABI.Events[names[i%3]].ID || id != first+uint64(i/3) {
			t.Fatalf("log %d: topic0 %s job %d, want %s of job %d", i, l.Topics[0].Hex(), id, names[i%3], first+uint64(i/3))
		}
	}
	if after := readOne[*big.Int](t, c, d.Escrow, ContractEscrow, "jobCount").Uint64(); after != before {
		t.Errorf("jobCount %d after emitting events, was %d", after, before)
	}
	if j := readJob(t, c, d.Escrow, first); j.Buyer != (common.Address{}) {
		t.Errorf("job %d exists after emitting its events: %+v", first, j)
	}
}

func TestNoMiningAndStop(t *testing.T) {
	t.Parallel()
	a, _ := StartTWith(t, AnvilOptions{NoMining: true})
	ctx := testCtx(t)
	c := testConn(t, a.URL)
	from := DevKey(FirstFreeAccount)
	to := DevAddress(FirstFreeAccount + 1)
	before, err := c.ec.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sendCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = c.send(sendCtx, from, &to, nil, 21000)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send with automine off: %v, want it to wait until the deadline", err)
	}
	if n, _ := c.ec.BlockNumber(ctx); n != before {
		t.Fatalf("block %d mined with mining off (was %d)", n, before)
	}
	if err := a.Mine(ctx); err != nil {
		t.Fatal(err)
	}
	if nonce, err := c.ec.NonceAt(ctx, DevAddress(FirstFreeAccount), nil); err != nil || nonce != 1 {
		t.Errorf("nonce after Mine = %d (%v), want 1", nonce, err)
	}

	pid := a.PID()
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("anvil pid %d still exists after Stop (kill 0: %v)", pid, err)
	}
	if resp, err := http.Post(a.URL, "application/json", strings.NewReader(`{}`)); err == nil {
		resp.Body.Close()
		t.Errorf("%s still answers after Stop", a.URL)
	}
	if err := a.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestStartAnvilOptions(t *testing.T) {
	t.Parallel()
	a := StartAnvilT(t, AnvilOptions{ChainID: 8453})
	var id hexutil.Uint64
	if err := a.RPC(testCtx(t), &id, "eth_chainId"); err != nil || id != 8453 || a.ChainID != 8453 {
		t.Errorf("chain id %d (%v), Anvil.ChainID %d, want 8453", id, err, a.ChainID)
	}
	// A taken port is a clear error, not a hang or a handle on someone else's node.
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	b, err := StartAnvil(ctx, AnvilOptions{Port: a.Port})
	if err == nil {
		b.Stop()
		t.Fatal("second anvil on a taken port started")
	}
	if !strings.Contains(err.Error(), "already in use") {
		t.Errorf("error for a taken port does not say so: %v", err)
	}
	if _, err := Deploy(ctx, a.URL); err != nil {
		t.Fatalf("deploy on a chain-8453 anvil: %v", err)
	}
}

func TestToolPaths(t *testing.T) {
	t.Setenv("VRWX_ANVIL", "/nonexistent/anvil")
	if _, err := AnvilPath(); err == nil || !strings.Contains(err.Error(), "VRWX_ANVIL") || errors.Is(err, ErrToolNotFound) {
		t.Errorf("AnvilPath with a bad VRWX_ANVIL: %v, want an error naming the variable", err)
	}
	t.Setenv("VRWX_ANVIL", "")
	t.Setenv("VRWX_CAST", "")
	t.Setenv("PATH", t.TempDir())
	t.Chdir(t.TempDir())
	for name, find := range map[string]func() (string, error){"anvil": AnvilPath, "cast": CastPath} {
		_, err := find()
		if !errors.Is(err, ErrToolNotFound) || !strings.Contains(err.Error(), "scripts/tools.sh") {
			t.Errorf("%s outside the repo with an empty PATH: %v, want ErrToolNotFound and the install hint", name, err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VRWX_CAST", exe)
	if p, err := CastPath(); err != nil || p != exe {
		t.Errorf("CastPath with VRWX_CAST=%s: %q, %v", exe, p, err)
	}
}

// recordingTB stands in for *testing.T where the test must observe Skip versus Fatal
// without ending itself; the embedded TB is only there to satisfy the interface.
type recordingTB struct {
	testing.TB
	skipped, failed bool
}

type stopTest struct{}

func (r *recordingTB) Helper()               {}
func (r *recordingTB) Skip(...any)           { r.skipped = true; panic(stopTest{}) }
func (r *recordingTB) Fatal(...any)          { r.failed = true; panic(stopTest{}) }
func (r *recordingTB) Fatalf(string, ...any) { r.failed = true; panic(stopTest{}) }
func (r *recordingTB) Skipf(string, ...any)  { r.skipped = true; panic(stopTest{}) }

func TestMissingAnvilSkipsLocallyAndFailsInCI(t *testing.T) {
	missing := func() (string, error) { return "", fmt.Errorf("anvil: %w", ErrToolNotFound) }
	broken := func() (string, error) { return "", errors.New("VRWX_ANVIL=/x: not executable") }
	run := func(find func() (string, error)) *recordingTB {
		r := &recordingTB{TB: t}
		func() {
			defer func() {
				if v := recover(); v != nil {
					if _, ok := v.(stopTest); !ok {
						panic(v)
					}
				}
			}()
			requireTool(r, "anvil", find)
		}()
		return r
	}
	t.Setenv("CI", "")
	if r := run(missing); !r.skipped || r.failed {
		t.Errorf("without CI: skipped=%v failed=%v, want a skip", r.skipped, r.failed)
	}
	if r := run(broken); r.skipped || !r.failed {
		t.Errorf("broken override without CI: skipped=%v failed=%v, want a failure", r.skipped, r.failed)
	}
	t.Setenv("CI", "true")
	if r := run(missing); r.skipped || !r.failed {
		t.Errorf("with CI: skipped=%v failed=%v, want a failure", r.skipped, r.failed)
	}
}

// The chain StartT loads from the process's snapshot is the deployed chain: every
// block (hash, so every transaction and timestamp), the logs and the deployment match
// the anvil that ran Deploy.
func TestSnapshotChainIsTheDeployedChain(t *testing.T) {
	t.Parallel()
	// A chain id of its own, so this test's first StartT is the one that deploys.
	opts := AnvilOptions{ChainID: 424242}
	deployed, d1 := StartTWith(t, opts)
	loaded, d2 := StartTWith(t, opts)
	if d2.RPCURL != loaded.URL || d1.RPCURL != deployed.URL {
		t.Fatalf("deployments point at %s and %s, want %s and %s", d1.RPCURL, d2.RPCURL, deployed.URL, loaded.URL)
	}
	d2.RPCURL = d1.RPCURL
	j1, _ := json.Marshal(d1)
	j2, _ := json.Marshal(d2)
	if !bytes.Equal(j1, j2) {
		t.Fatalf("deployments differ:\n%s\n%s", j1, j2)
	}
	c1, c2 := testConn(t, deployed.URL), testConn(t, loaded.URL)
	ctx := testCtx(t)
	head1, err := c1.ec.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head2, err := c2.ec.BlockNumber(ctx)
	if err != nil || head2 != head1 {
		t.Fatalf("loaded head %d (%v), deployed head %d", head2, err, head1)
	}
	for n := d1.DeployBlock; n <= head1; n++ {
		h1, err1 := c1.ec.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
		h2, err2 := c2.ec.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
		if err1 != nil || err2 != nil || h1.Hash() != h2.Hash() {
			t.Fatalf("block %d differs: %v %v", n, err1, err2)
		}
	}
	q := ethereum.FilterQuery{FromBlock: new(big.Int).SetUint64(d1.DeployBlock), Addresses: []common.Address{d1.Escrow, d1.Identity}}
	l1, err1 := c1.ec.FilterLogs(ctx, q)
	l2, err2 := c2.ec.FilterLogs(ctx, q)
	if err1 != nil || err2 != nil || len(l1) == 0 || len(l1) != len(l2) {
		t.Fatalf("logs: deployed %d (%v), loaded %d (%v)", len(l1), err1, len(l2), err2)
	}
	for i := range l1 {
		if l1[i].TxHash != l2[i].TxHash || l1[i].Index != l2[i].Index || !bytes.Equal(l1[i].Data, l2[i].Data) {
			t.Fatalf("log %d differs: %+v vs %+v", i, l1[i], l2[i])
		}
	}
	// The loaded chain goes on: a seeded job still moves through the contract.
	for name, want := range seededStatus {
		if got := readJob(t, c2, d2.Escrow, d2.Jobs[name]).Status; got != want {
			t.Errorf("loaded job %s status %d, want %d", name, got, want)
		}
	}
	if err := loaded.Mine(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := c2.ec.BlockNumber(ctx); err != nil || n != head1+1 {
		t.Fatalf("after mining the loaded chain is at %d (%v), want %d", n, err, head1+1)
	}
}
