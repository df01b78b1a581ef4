// Package wire is the JSON the vrwxctl-litestream helper speaks: the target it is
// given, the levels and snapshots of a replica it describes, and the document it
// prints when a run fails. The helper (pkg/litereplica) writes it and
// sqlitebackup.ExecEngine reads it; it imports nothing, so that vrwxctl reads the
// helper's answers without linking litestream.
package wire

import "time"

// Target names a replica: a local directory, or an S3 bucket and prefix with how to
// reach it (credentials come from the environment, as for the AWS SDK).
type Target struct {
	Path      string `json:"path,omitempty"`
	Bucket    string `json:"bucket,omitempty"`
	Key       string `json:"key,omitempty"`
	Endpoint  string `json:"endpoint,omitempty"`
	Region    string `json:"region,omitempty"`
	PathStyle bool   `json:"pathStyle,omitempty"`
}

func (t Target) String() string {
	if t.Bucket != "" {
		return "s3://" + t.Bucket + "/" + t.Key
	}
	return "file://" + t.Path
}

// Level is one LTX level of a replica (0: each sync; 9: snapshots).
type Level struct {
	Level   int       `json:"level"`
	Files   int       `json:"files"`
	Size    int64     `json:"size"`
	MinTXID string    `json:"minTxid"`
	MaxTXID string    `json:"maxTxid"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
}

// Snapshot is one full snapshot (level 9) of a replica.
type Snapshot struct {
	MaxTXID   string    `json:"maxTxid"`
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"createdAt"`
}

// Failure is the document printed when a run fails: Kind is for the caller to
// decide on, Error for the operator.
type Failure struct {
	Error string `json:"error"`
	Kind  string `json:"kind"`
}

// Kinds of Failure.
const (
	// KindV3: the location holds a litestream v0.3.x replica.
	KindV3 = "v3"
	// KindEmpty: no LTX file at all.
	KindEmpty = "empty"
	// KindNotReachable: the point in time is outside what the replica holds.
	KindNotReachable = "not-reachable"
	// KindUsage: the helper was run with the wrong arguments.
	KindUsage = "usage"
	// KindFailed: anything else.
	KindFailed = "failed"
)
