package doctor

import (
	"fmt"
	"time"

	"github.com/vrwx/vrwxctl/pkg/monitor"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// replicaCheck judges litestream's replication: the age of the newest replicated
// position against the RPO thresholds.
func replicaCheck(r *monitor.Replica, t SystemThresholds) Check {
	loc := redact.Mask(r.Location) // as the operator typed it
	c := Check{Name: "litestream replica", Detail: loc}
	switch {
	case r.Err != nil:
		c.Level, c.Value, c.Detail = Crit, "unreadable", loc+": "+r.Err.Error()
		c.Fix = "check the replica URL and its credentials (vrwxctl db list " + loc + ")"
	default:
		age := max(r.Age, 0).Truncate(time.Second)
		c.Level, c.Value = above(age, t.ReplicaAgeWarn, t.ReplicaAgeCrit), long(age)+" behind"
		c.Detail = fmt.Sprintf("%s · transaction %s replicated at %s · warning above %s, critical above %s (RPO)",
			loc, r.Info.MaxTXID, r.Info.Latest.UTC().Format(time.RFC3339), t.ReplicaAgeWarn, t.ReplicaAgeCrit)
		if c.Level != OK {
			c.Fix = "replication has stopped or lags: check the litestream sidecar (kubectl logs deployment/vrwx-api -c litestream) and its credentials; an idle database is not replicated either, the API writes at least once an hour"
		}
	}
	return c
}
