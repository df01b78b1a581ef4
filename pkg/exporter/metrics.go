package exporter

// Metric documents one metric the exporter publishes. docs/monitoring/README.md lists
// the same names, and the alert rules and dashboard may use only these (plus the
// API's own metrics): tests hold all three to this list.
type Metric struct {
	Name   string
	Type   string // gauge, counter or histogram
	Labels []string
	Help   string
}

// Metrics are the exporter's own metrics, in the order /metrics shows them. Besides
// these it serves the process's own (Standard: go_* and process_*).
var Metrics = []Metric{
	{"vrwx_relayer_balance_eth", "gauge", []string{"address"}, "Relayer account balance in ETH."},
	{"vrwx_relayer_nonce_latest", "gauge", []string{"address"}, "Relayer nonce at the latest block: transactions mined."},
	{"vrwx_relayer_nonce_pending", "gauge", []string{"address"}, "Relayer nonce including the mempool."},
	{"vrwx_relayer_pending_txs", "gauge", []string{"address"}, "Relayer transactions waiting in the mempool (pending minus latest nonce)."},
	{"vrwx_gas_price_gwei", "gauge", nil, "eth_gasPrice in gwei."},
	{"vrwx_base_fee_gwei", "gauge", nil, "Base fee of the latest block in gwei."},
	{"vrwx_max_fee_per_gas_gwei", "gauge", nil, "The profile's MAX_FEE_PER_GAS_GWEI: relays cannot be mined while the base fee is at or above it."},
	{"vrwx_chain_up", "gauge", nil, "1 when the batched chain read succeeded on some RPC URL, else 0."},
	{"vrwx_chain_head_block", "gauge", nil, "Latest block number seen by the batched read."},
	{"vrwx_chain_head_timestamp_seconds", "gauge", nil, "Timestamp of the latest block (Unix seconds)."},
	{"vrwx_escrow_job_count", "gauge", []string{"escrow"}, "JobEscrow jobCount(): jobs ever created."},
	{"vrwx_rpc_up", "gauge", []string{"url", "position"}, "1 when this RPC URL answered with the profile's chain id, else 0 (url redacted, position in failover order)."},
	{"vrwx_rpc_head_block", "gauge", []string{"url", "position"}, "Latest block number this RPC URL reports."},
	{"vrwx_rpc_head_lag_blocks", "gauge", []string{"url", "position"}, "Blocks this RPC URL is behind the highest head any configured URL reports."},
	{"vrwx_rpc_latency_seconds", "gauge", []string{"url", "position"}, "Round trip of the last read from this RPC URL."},
	{"vrwx_api_up", "gauge", nil, "1 when the API's /health answered 200 with its JSON and status \"ok\", else 0."},
	{"vrwx_api_health_latency_seconds", "gauge", nil, "Round trip of the last /health request."},
	{"vrwx_api_info", "gauge", []string{"relayer_address", "relay_mode", "chain_id", "schema_version"}, "Always 1; the labels carry what /health reported."},
	{"vrwx_dlq_unresolved", "gauge", nil, "DLQ depth: dlq_events rows with resolved_at NULL, read-only from the API's database."},
	{"vrwx_db_up", "gauge", nil, "1 when the API's database could be read, else 0."},
	{"vrwx_db_replica_up", "gauge", nil, "1 when the database's litestream replica could be read, else 0."},
	{"vrwx_db_replica_position_timestamp_seconds", "gauge", nil, "Time of litestream's newest replicated position (Unix seconds): the RPO is time() minus this."},
	{"vrwx_db_replica_age_seconds", "gauge", nil, "Age of litestream's newest replicated position when it was read."},
	{"vrwx_exporter_refresh_success", "gauge", nil, "1 when every configured part was read in the last refresh, else 0."},
	{"vrwx_exporter_refresh_duration_seconds", "gauge", nil, "How long the last refresh took (all parts, read concurrently)."},
	{"vrwx_exporter_reading_age_seconds", "gauge", nil, "Age of the readings this scrape was served from (they are reused for --interval)."},
	{"vrwx_exporter_refreshes_total", "counter", nil, "Refreshes since start: each is one batched chain read, however many scrapes it served."},
	{"vrwx_exporter_read_errors_total", "counter", []string{"part"}, "Failed reads since start, by part: chain, rpc, api, db, relay (the relay counters' chain scans and database reads)."},
	{"vrwx_relay_tx_total", "counter", relayLabels, "Relays: source=chain, the relayer's transactions mined since the first block of `since` (the window the exporter started in); source=dlq, the API's TX_FAIL rows of relays that failed before the chain, all of them."},
	{"vrwx_relay_tx_success_total", "counter", relayLabels, "The relayer's transactions mined with status 1 since the first block of `since` (source=chain)."},
	{"vrwx_relay_tx_failed_total", "counter", relayLabels, "Failed relays: source=chain, the relayer's transactions mined and reverted since the first block of `since`; source=dlq, the API's TX_FAIL rows of relays that failed before the chain."},
	{"vrwx_relay_gas_used", "histogram", []string{"relayer", "since"}, "Gas used by each of the relayer's transactions mined since the first block of `since`."},
	{"vrwx_relay_counted_block", "gauge", []string{"relayer", "since"}, "The last block whose transactions of this relayer the relay counters include."},
	{"vrwx_relay_origin_block", "gauge", []string{"since"}, "The first block at or after `since`: where the chain's relay counters start."},
	{"vrwx_completion_latency_seconds", "histogram", []string{"since"}, "Request to completion: created_at to updated_at of the API's idempotency records that turned COMPLETED since `since`."},
}
