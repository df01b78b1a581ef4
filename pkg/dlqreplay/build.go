// Package dlqreplay replays the API's failed completions, the TX_FAIL rows of its
// dead-letter queue: it rebuilds each row's completion and the values the controller
// signed, judges it with completion.Checker, sends it with completion.Submit and marks
// the row RETRIED.
//
// It is a package of its own, rather than part of pkg/completion or pkg/dlq, because
// it joins the two: pkg/completion completes a job on the chain and knows nothing of
// the API's database (job complete and robot verify-sig use it without one), and
// pkg/dlq reads and writes the database and knows nothing of the chain. One row
// (Build, then Replayer.Send) and many (Read, Replayer.Plan, Replayer.Run) take the
// same steps, so a bulk replay is exactly a run of single ones.
package dlqreplay

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/vrwx/vrwxctl/pkg/completion"
	"github.com/vrwx/vrwxctl/pkg/dlq"
	"github.com/vrwx/vrwxctl/pkg/errs"
)

// Values are the quality score and work units a replay submits, each with where it
// came from: "payload" (the row's own field), "reason" (the calldata of the relay the
// row's reason records: what the API built and the controller signed), "derived"
// (computed from the payload as the API does, only when neither holds them), or the
// name of the override that gave it.
type Values struct {
	QualityScore  uint64 `json:"qualityScore"`
	QualityFrom   string `json:"qualityFrom"`
	WorkUnits     uint64 `json:"workUnits"`
	WorkUnitsFrom string `json:"workUnitsFrom"`
	// Rule and Assumed describe the derivation when either value is derived, or
	// when an override replaced a derivable value.
	Rule    string   `json:"rule,omitempty"`
	Assumed []string `json:"assumed,omitempty"`
}

// Derived reports whether either value was derived from the payload: when the
// controller's signature does not match, the API may have computed other values.
func (v Values) Derived() bool { return v.QualityFrom == "derived" || v.WorkUnitsFrom == "derived" }

// Signed reports whether both values are ones the controller is known to have signed:
// the payload's own, or the relay's calldata.
func (v Values) Signed() bool {
	signed := func(from string) bool { return from == "payload" || from == "reason" }
	return signed(v.QualityFrom) && signed(v.WorkUnitsFrom)
}

// Override is a value the operator gave instead of the derived one. Name is how the
// operator gave it (the caller's flag): it is the value's origin in Values and what
// errors ask for. Value nil means none was given.
type Override struct {
	Name  string
	Value *uint64
	// Text is the value as typed, for errors ("" prints Value).
	Text string
}

func (o Override) text() string {
	if o.Text != "" || o.Value == nil {
		return o.Text
	}
	return fmt.Sprint(*o.Value)
}

// Overrides are the quality score and work units the operator gave.
type Overrides struct {
	Quality, WorkUnits Override
}

// Built is a TX_FAIL row rebuilt into the completion it failed to submit.
type Built struct {
	Completion dlq.Completion
	Values     Values
	Claim      completion.Claim
}

// Build rebuilds a TX_FAIL row's completion with its values chosen as ChooseValues
// does. A row of another type, a payload without what a completion needs, or
// values out of range are errors naming the row; what was built before the error
// is set (the completion, then the values), the rest is zero.
func Build(e dlq.Event, o Overrides) (Built, error) {
	var b Built
	c, err := dlq.TxFailCompletion(e)
	if err != nil {
		return b, err
	}
	b.Completion = c
	v, err := ChooseValues(e.ID, c, o)
	if err != nil {
		return b, err
	}
	b.Values = v
	b.Claim, err = claimOf(e.ID, c, v)
	return b, err
}

// ChooseValues picks the quality score and work units of a row: the payload's own,
// else the relay's calldata in the row's reason (for either, a contradicting
// override is bad input: the controller signed that value), else the override,
// else what the payload derives. None is bad input naming both overrides and why
// the payload does not derive them.
func ChooseValues(id int64, c dlq.Completion, o Overrides) (Values, error) {
	var v Values
	var derivedQ, derivedW, relayedQ, relayedW *uint64
	if c.Derived != nil {
		derivedQ, derivedW = &c.Derived.QualityScore, &c.Derived.WorkUnits
	}
	if c.Relayed != nil {
		relayedQ, relayedW = &c.Relayed.QualityScore, &c.Relayed.WorkUnits
	}
	var err error
	var missing []string
	if v.QualityScore, v.QualityFrom, err = pick(o.Quality, "qualityScore", c.QualityScore, relayedQ, derivedQ); errors.Is(err, errMissing) {
		missing = append(missing, nameOr(o.Quality, "a quality score"))
	} else if err != nil {
		return v, err
	}
	if v.WorkUnits, v.WorkUnitsFrom, err = pick(o.WorkUnits, "workUnits", c.WorkUnits, relayedW, derivedW); errors.Is(err, errMissing) {
		missing = append(missing, nameOr(o.WorkUnits, "work units"))
	} else if err != nil {
		return v, err
	}
	if len(missing) > 0 {
		return v, errs.Usagef("DLQ event %d's payload has no quality score and work units, and they cannot be derived from it (%s): give %s",
			id, c.DeriveError, strings.Join(missing, " and "))
	}
	if c.Derived != nil && !v.Signed() {
		v.Rule, v.Assumed = c.Derived.Rule, c.Derived.Assumed
	}
	if c.RelayedNote != "" {
		v.Assumed = append(v.Assumed, c.RelayedNote)
	}
	return v, nil
}

func nameOr(o Override, what string) string {
	if o.Name != "" {
		return o.Name
	}
	return what
}

var errMissing = errors.New("missing")

// pick returns a value and where it came from: the payload's own, else the relay's
// calldata in the reason (an override that contradicts either is bad input, because
// the controller signed that value), else the override (which replaces a derived
// value), else the derived one.
func pick(o Override, field string, payload, relayed, derived *uint64) (uint64, string, error) {
	name := nameOr(o, field)
	switch {
	case payload != nil && o.Value != nil && *o.Value != *payload:
		return 0, "", errs.Usagef("%s %s: the event's payload has %s %d, which the controller signed", name, o.text(), field, *payload)
	case payload != nil:
		return *payload, "payload", nil
	case relayed != nil && o.Value != nil && *o.Value != *relayed:
		return 0, "", errs.Usagef("%s %s: the relay recorded in the event's reason had %s %d, which the controller signed", name, o.text(), field, *relayed)
	case relayed != nil:
		return *relayed, "reason", nil
	case o.Value != nil && derived != nil && *derived != *o.Value:
		return *o.Value, fmt.Sprintf("%s, overriding the derived %d", name, *derived), nil
	case o.Value != nil:
		return *o.Value, name, nil
	case derived != nil:
		return *derived, "derived", nil
	}
	return 0, "", errMissing
}

// claimOf is the submitCompletionV2 claim of a row with its chosen values. The
// completion's fields were checked by dlq.TxFailCompletion; the values' ranges are
// checked here, because a payload or an override may hold any uint64.
func claimOf(id int64, c dlq.Completion, v Values) (completion.Claim, error) {
	var claim completion.Claim
	job, ok := new(big.Int).SetString(c.JobID, 10)
	if !ok {
		return claim, errs.Failedf("DLQ event %d: job id %q is not a decimal uint256", id, c.JobID)
	}
	if v.QualityScore > math.MaxUint8 {
		return claim, errs.Usagef("DLQ event %d: quality score %d (%s) is out of range: a quality score is 0..255 (80..120 in practice)", id, v.QualityScore, v.QualityFrom)
	}
	if v.WorkUnits > math.MaxUint32 {
		return claim, errs.Usagef("DLQ event %d: work units %d (%s) are out of range: work units are a uint32, 0..4294967295", id, v.WorkUnits, v.WorkUnitsFrom)
	}
	sig, err := hexutil.Decode(c.ControllerSig)
	if err != nil {
		return claim, errs.Failedf("DLQ event %d: controller signature: %v", id, err)
	}
	return completion.Claim{JobID: job, CompletionHash: common.HexToHash(c.ManifestHash),
		QualityScore: uint8(v.QualityScore), WorkUnits: uint32(v.WorkUnits), Signature: sig}, nil
}
