package vrwx

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// Status is a job's lifecycle state (uint8 on chain).
type Status uint8

const (
	StatusCreated Status = iota
	StatusFunded
	StatusCompleted
	StatusSettled
	StatusDisputed
	StatusRefunded
)

var statusNames = []string{"CREATED", "FUNDED", "COMPLETED", "SETTLED", "DISPUTED", "REFUNDED"}

// StatusNames lists the status names in enum order.
func StatusNames() []string { return append([]string(nil), statusNames...) }

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("UNKNOWN(%d)", uint8(s))
}

// ParseStatus accepts a status name in any case.
func ParseStatus(name string) (Status, error) {
	for i, n := range statusNames {
		if strings.EqualFold(n, name) {
			return Status(i), nil
		}
	}
	return 0, errs.Usagef("status %s is not a job status (expected one of %s)", redact.Quote(name), strings.Join(statusNames, ", "))
}

// Job is the 11 fields of JobEscrow.jobs(uint256), in the spec's order.
type Job struct {
	ID             *big.Int       `json:"id"`
	Buyer          common.Address `json:"buyer"`
	RobotID        common.Hash    `json:"robotId"`
	JobSpecHash    common.Hash    `json:"jobSpecHash"`
	Price          *big.Int       `json:"price"`
	Deadline       *big.Int       `json:"deadline"`
	Status         Status         `json:"status"`
	CompletionHash common.Hash    `json:"completionHash"`
	TokenID        *big.Int       `json:"tokenId"`
	SettleAfter    *big.Int       `json:"settleAfter"`
	QualityScore   uint8          `json:"qualityScore"`
	WorkUnits      uint32         `json:"workUnits"`
}

// Exists reports whether the job is on chain: a missing id reads as all zeros.
func (j *Job) Exists() bool { return j.Buyer != (common.Address{}) }

// PackJobs encodes jobs(id).
func PackJobs(id *big.Int) []byte { return Pack(EscrowABI(), "jobs", id) }

// DecodeJob decodes the return data of jobs(id). The eleven values are all static
// types, one 32-byte word each, so they are read directly: list scans decode
// thousands of these.
func DecodeJob(id *big.Int, data []byte) (*Job, error) {
	if len(data) != 11*32 {
		return nil, fmt.Errorf("jobs(%s): got %d bytes of return data, want %d (is the escrow address right?)", id, len(data), 11*32)
	}
	w := func(i int) []byte { return data[i*32 : (i+1)*32] }
	u := func(i int) *big.Int { return new(big.Int).SetBytes(w(i)) }
	small := func(i int, bits uint) (uint64, error) {
		v := u(i)
		if v.BitLen() > int(bits) {
			return 0, fmt.Errorf("jobs(%s): word %d out of range for uint%d", id, i, bits)
		}
		return v.Uint64(), nil
	}
	if u(0).BitLen() > 160 {
		return nil, fmt.Errorf("jobs(%s): buyer word is not an address", id)
	}
	status, err := small(5, 8)
	if err != nil {
		return nil, err
	}
	q, err := small(9, 8)
	if err != nil {
		return nil, err
	}
	wu, err := small(10, 32)
	if err != nil {
		return nil, err
	}
	return &Job{
		ID:             new(big.Int).Set(id),
		Buyer:          common.BytesToAddress(w(0)),
		RobotID:        common.BytesToHash(w(1)),
		JobSpecHash:    common.BytesToHash(w(2)),
		Price:          u(3),
		Deadline:       u(4),
		Status:         Status(status),
		CompletionHash: common.BytesToHash(w(6)),
		TokenID:        u(7),
		SettleAfter:    u(8),
		QualityScore:   uint8(q),
		WorkUnits:      uint32(wu),
	}, nil
}

// serviceTypes are the API's service types; a V2 job's serviceTypeHash is the
// keccak256 of one of them.
var serviceTypes = []string{"inspection", "security_patrol", "delivery"}

// ServiceTypeName names a service type hash that is the keccak256 of one of the
// API's service types, or returns "" for any other hash.
func ServiceTypeName(h common.Hash) string {
	for _, n := range serviceTypes {
		if crypto.Keccak256Hash([]byte(n)) == h {
			return n
		}
	}
	return ""
}
