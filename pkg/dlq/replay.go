package dlq

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

// Completion is what a TX_FAIL event holds of the completion the relayer failed to
// submit: enough to submit it again with submitCompletionV2.
type Completion struct {
	EventID       int64  `json:"event_id"`
	JobID         string `json:"job_id"`        // decimal uint256
	ManifestHash  string `json:"manifest_hash"` // 0x + 64 hex: the completion hash
	ControllerSig string `json:"controller_sig"`
	RobotID       string `json:"robot_id,omitempty"`
	ServiceType   string `json:"service_type,omitempty"`
	// QualityScore and WorkUnits are the payload's own, nil when it lacks them (the
	// live API's payloads always do: it computes both before relaying).
	QualityScore *uint64 `json:"quality_score,omitempty"`
	WorkUnits    *uint64 `json:"work_units,omitempty"`
	// Relayed are quality and work units read from the calldata in the row's reason
	// (an estimateGas revert, or a signed transaction): exactly what the API built
	// and the controller signed. Nil when the reason holds no calldata of this
	// completion; RelayedNote then says why, when it holds another one.
	Relayed     *RelayedValues `json:"relayed,omitempty"`
	RelayedNote string         `json:"relayed_note,omitempty"`
	// Derived are quality and work units computed from the payload as the API
	// computes them (nil when they cannot be; DeriveError says why).
	Derived     *Derived `json:"derived,omitempty"`
	DeriveError string   `json:"derive_error,omitempty"`
}

// RelayedValues are the quality score and work units of the relay the reason records.
type RelayedValues struct {
	QualityScore uint64 `json:"quality_score"`
	WorkUnits    uint64 `json:"work_units"`
}

// txFailPayload is the part of the webhook body a replay needs. Numbers may arrive
// as JSON numbers or strings, depending on the client that called the API.
type txFailPayload struct {
	JobID          json.RawMessage `json:"jobId"`
	RobotID        string          `json:"robotId"`
	ServiceType    string          `json:"serviceType"`
	ManifestHash   string          `json:"manifestHash"`
	CompletionHash string          `json:"completionHash"`
	ControllerSig  string          `json:"controllerSig"`
	QualityScore   json.RawMessage `json:"qualityScore"`
	WorkUnits      json.RawMessage `json:"workUnits"`
}

// TxFailCompletion rebuilds the completion from a TX_FAIL event: the job id (row and
// payload must agree), the manifest (completion) hash, the controller's signature,
// and quality score and work units when the payload has them. Anything missing or
// malformed is an errs.Failed error that names it; a row of another type is bad input.
func TxFailCompletion(e Event) (Completion, error) {
	c := Completion{EventID: e.ID, ServiceType: e.ServiceType}
	if e.Type != "TX_FAIL" {
		return c, errs.Usagef("DLQ event %d is %s: only TX_FAIL events can be replayed", e.ID, e.Type)
	}
	var p txFailPayload
	dec := json.NewDecoder(bytes.NewReader([]byte(e.Payload)))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return c, errs.Failedf("DLQ event %d: payload is not a JSON object: %v", e.ID, err)
	}
	bad := func(format string, args ...any) error {
		return errs.Failedf("DLQ event %d: "+format, append([]any{e.ID}, args...)...)
	}

	payloadJob, err := decimalField(p.JobID)
	if err != nil {
		return c, bad("payload jobId: %v", err)
	}
	rowJob := ""
	if e.JobID != "" {
		if rowJob, err = decimalField(json.RawMessage(strconv.Quote(e.JobID))); err != nil {
			return c, bad("job_id column: %v", err)
		}
	}
	switch {
	case rowJob != "" && payloadJob != "" && rowJob != payloadJob:
		return c, bad("job_id column %s and payload jobId %s differ", rowJob, payloadJob)
	case rowJob != "":
		c.JobID = rowJob
	case payloadJob != "":
		c.JobID = payloadJob
	default:
		return c, bad("no job id in the row or its payload")
	}

	c.ManifestHash = e.ManifestHash
	if c.ManifestHash == "" {
		c.ManifestHash = p.ManifestHash
	}
	if c.ManifestHash == "" {
		c.ManifestHash = p.CompletionHash
	}
	if c.ManifestHash, err = hexBytes(c.ManifestHash, 32); err != nil {
		return c, bad("manifest hash: %v", err)
	}
	if p.ControllerSig == "" {
		return c, bad("payload has no controllerSig")
	}
	if c.ControllerSig, err = hexBytes(p.ControllerSig, 65); err != nil {
		return c, bad("controllerSig: %v", err)
	}
	if p.RobotID != "" {
		if c.RobotID, err = hexBytes(p.RobotID, 32); err != nil {
			return c, bad("robotId: %v", err)
		}
	}
	if p.ServiceType != "" {
		c.ServiceType = p.ServiceType
	}
	if c.QualityScore, err = uintField(p.QualityScore); err != nil {
		return c, bad("qualityScore: %v", err)
	}
	if c.WorkUnits, err = uintField(p.WorkUnits); err != nil {
		return c, bad("workUnits: %v", err)
	}
	c.Relayed, c.RelayedNote = relayedValues(e, c)
	// The row was written when the relay failed, moments after the API read its
	// clock for the completion: the nearest reading of that clock there is.
	if d, err := Derive(e.Payload, e.CreatedAt); err == nil {
		c.Derived = &d
	} else {
		c.DeriveError = err.Error()
	}
	return c, nil
}

// relayedValues reads the values of the relay from the reason's calldata, when it is
// this row's completion: same job, completion hash and signature.
func relayedValues(e Event, c Completion) (*RelayedValues, string) {
	a := ParseReason(e.Reason).Completion()
	if a == nil {
		return nil, ""
	}
	if a.JobID != c.JobID || !strings.EqualFold(a.CompletionHash, c.ManifestHash) || !strings.EqualFold(a.Signature, c.ControllerSig) {
		return nil, fmt.Sprintf("the reason's calldata is another completion (job %s, completion hash %s): its values are not used", a.JobID, a.CompletionHash)
	}
	return &RelayedValues{QualityScore: uint64(a.QualityScore), WorkUnits: uint64(a.WorkUnits)}, ""
}

// decimalField reads a JSON number or string holding a non-negative integer
// (decimal, or 0x-hex) and returns it in decimal; "" when absent.
func decimalField(raw json.RawMessage) (string, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return "", nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", err
		}
		s = strings.TrimSpace(s)
	}
	n, ok := new(big.Int), false
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		n, ok = n.SetString(s[2:], 16)
	} else {
		n, ok = n.SetString(s, 10)
	}
	if !ok || n.Sign() < 0 || n.BitLen() > 256 {
		return "", fmt.Errorf("%q is not a uint256", s)
	}
	return n.String(), nil
}

func uintField(raw json.RawMessage) (*uint64, error) {
	d, err := decimalField(raw)
	if err != nil || d == "" {
		return nil, err
	}
	v, err := strconv.ParseUint(d, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%s does not fit in 64 bits", d)
	}
	return &v, nil
}

// hexBytes checks s is 0x-prefixed hex of exactly n bytes and returns it lower-cased.
func hexBytes(s string, n int) (string, error) {
	if s == "" {
		return "", fmt.Errorf("missing")
	}
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return "", fmt.Errorf("%q: expected 0x-prefixed hex", s)
	}
	b, err := hex.DecodeString(s[2:])
	if err != nil {
		return "", fmt.Errorf("%q is not hex", s)
	}
	if len(b) != n {
		return "", fmt.Errorf("%q has %d bytes, expected %d", s, len(b), n)
	}
	return "0x" + hex.EncodeToString(b), nil
}
