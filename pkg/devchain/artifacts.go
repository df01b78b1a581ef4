package devchain

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// The artifacts are written by scripts/compile-contracts.mjs and committed, so building
// and testing need no Solidity compiler.
//
//go:embed artifacts/*.json
var artifactFS embed.FS

// Names of the compiled test doubles.
const (
	ContractToken          = "MockUSDC"
	ContractIdentity       = "IdentityRegistry"
	ContractEscrow         = "JobEscrow"
	ContractPausableEscrow = "PausableJobEscrow"
)

// Artifact is one compiled contract.
type Artifact struct {
	ContractName string
	SolcVersion  string
	// RawABI is the ABI JSON as the compiler wrote it.
	RawABI json.RawMessage
	ABI    abi.ABI
	// Bytecode is the creation code; DeployedBytecode the runtime code with zeroed
	// immutables (the code on chain differs where immutables are stored).
	Bytecode         []byte
	DeployedBytecode []byte
}

var (
	artifactsMu sync.Mutex
	artifacts   = map[string]*Artifact{}
)

// LoadArtifact returns the compiled contract called name (see the Contract* constants).
func LoadArtifact(name string) (*Artifact, error) {
	artifactsMu.Lock()
	defer artifactsMu.Unlock()
	if a, ok := artifacts[name]; ok {
		return a, nil
	}
	raw, err := artifactFS.ReadFile("artifacts/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("load artifact %s: %w", name, err)
	}
	var file struct {
		ContractName     string          `json:"contractName"`
		SolcVersion      string          `json:"solcVersion"`
		ABI              json.RawMessage `json:"abi"`
		Bytecode         string          `json:"bytecode"`
		DeployedBytecode string          `json:"deployedBytecode"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("parse artifact %s: %w", name, err)
	}
	parsed, err := abi.JSON(bytes.NewReader(file.ABI))
	if err != nil {
		return nil, fmt.Errorf("parse ABI of %s: %w", name, err)
	}
	code, err := hexutil.Decode(file.Bytecode)
	if err != nil {
		return nil, fmt.Errorf("decode bytecode of %s: %w", name, err)
	}
	deployed, err := hexutil.Decode(file.DeployedBytecode)
	if err != nil {
		return nil, fmt.Errorf("decode deployed bytecode of %s: %w", name, err)
	}
	a := &Artifact{
		ContractName:     file.ContractName,
		SolcVersion:      file.SolcVersion,
		RawABI:           file.ABI,
		ABI:              parsed,
		Bytecode:         code,
		DeployedBytecode: deployed,
	}
	artifacts[name] = a
	return a, nil
}
