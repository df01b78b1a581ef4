// Package secrets resolves signer references — where a private key lives — to
// keys, through one versioned store interface, so that no key is ever passed as
// a command-line argument and key rotation can be a two-phase write with a
// rollback.
//
// # References
//
//	aws-sm://vrwx/prod/relayer-key#RELAYER_PRIVATE_KEY   AWS Secrets Manager secret (name or ARN), JSON field
//	vault://secret/vrwx/prod/relayer#RELAYER_PRIVATE_KEY Vault KV v2: mount "secret", path "vrwx/prod/relayer", field
//	keystore:///path/key.json?password-env=VAR          go-ethereum encrypted JSON keystore
//	file:///path/key.hex                                 hex key in a file of mode 0600 or 0400
//	env://RELAYER_PRIVATE_KEY                            environment variable (read-only)
//
// The field defaults to RELAYER_PRIVATE_KEY. aws-sm references take ?region=
// (else the SDK's region chain). A keystore's password comes from the variable
// named by password-env, else from a no-echo prompt when stdin is a terminal.
// Stored values are hex, with or without 0x and surrounding whitespace, and must
// be a valid secp256k1 key: 32 bytes, not zero, below the curve order. Keys are
// written as 0x followed by 64 lower-case hex digits.
//
// # Version references
//
// A reference to a writable store names its current key. With ?stage= or
// ?version= it names one version instead, so that a command signing with
// --signer can use the key that a rotation just retired (to drain it) or the one
// it wrote but has not promoted:
//
//	aws-sm://vrwx/prod/relayer-key?stage=previous       the version before the last promote
//	aws-sm://vrwx/prod/relayer-key?stage=AWSPREVIOUS    the same, in AWS's own words
//	aws-sm://vrwx/prod/relayer-key?version=VERSION_ID   one AWS version by its VersionId
//	vault://secret/vrwx/prod/relayer?version=3          Vault KV v2 version 3
//	vault://secret/vrwx/prod/relayer?stage=pending      the version a rotation wrote as pending
//	file:///etc/vrwx/relayer.hex?stage=previous         the file PATH.previous
//	keystore:///k.json?password-env=P&version=0xADDR    the version holding that address's key
//
// Stages are current, pending and previous (any case; aws-sm also takes
// AWSCURRENT, AWSPENDING and AWSPREVIOUS). Version IDs are those `vrwxctl key
// versions` lists: an AWS VersionId, a Vault version number, the address of a
// local file's key. A version reference is for reading; a store opened through
// one refuses every change (errs.Usage) and names the reference without it.
//
// A key is held in a PrivateKey, which cannot be printed or marshalled. Errors
// name the reference and what was expected, never the value, not even in part.
//
// # Versions and stages
//
// Every writable store has versions with stages — current, pending, previous —
// mapped onto what its backend offers. Rotation writes the new key as pending
// (Store.WritePending), promotes it (Store.Promote), and can roll back
// (Store.Rollback). A store that holds no key yet makes its first key current
// at once. A store refuses a second pending key until the first is promoted or
// discarded (Store.DiscardPending). vrwxctl deletes nothing that holds a key
// (AWS may itself delete versions left without labels).
//
// # AWS Secrets Manager
//
// The secret's value is a JSON object, {"RELAYER_PRIVATE_KEY": "0x…"} by
// default, and stages are AWS's own staging labels, used the way AWS's rotation
// does:
//
//   - WritePending puts a new version labelled AWSPENDING (PutSecretValue with a
//     fresh ClientRequestToken, which becomes the VersionId). The other JSON
//     fields of the current value are carried over. If the secret does not exist
//     it is created (CreateSecret, by name, with the account's default KMS key),
//     and its first version is AWSCURRENT, as AWS labels every secret's first
//     version.
//   - Promote moves AWSCURRENT to the pending version (UpdateSecretVersionStage
//     with RemoveFromVersionId = the old current; AWS itself moves AWSPREVIOUS
//     to the old current) and then removes AWSPENDING from it, leaving the
//     labels as a finished AWS rotation does.
//   - Rollback moves AWSCURRENT back to the AWSPREVIOUS version; AWS moves
//     AWSPREVIOUS onto the version that was current.
//   - DiscardPending removes AWSPENDING; an unlabelled version is deprecated and
//     AWS may delete it later.
//
// A rotation's claim (Claims.ClaimPending) puts the new version with a staging
// label carrying the rotation's identity (vrwxctl-rotation;id=…) and a
// ClientRequestToken derived from the rotation and the key (a repeat after a lost
// answer is the same version), then moves AWSPENDING onto it without
// RemoveFromVersionId: AWS refuses that while another version holds the label, so of
// two rotations exactly one claims. AWSPENDING stays on the new version after the
// promote until ReleaseClaim removes it and the identity label. PromoteFrom moves
// AWSCURRENT with RemoveFromVersionId = the version the rotation started from, so a
// store changed meanwhile is refused. CheckWritable asks without writing:
// DescribeSecret, then PutSecretValue under the current version's id and
// UpdateSecretVersionStage removing a label the current version does not carry —
// both refused by AWS after its permission check (ResourceExistsException,
// InvalidParameterException), AccessDeniedException when not permitted.
//
// The client comes from the standard chain (environment, shared config and
// credentials files, SSO, IMDS); the endpoint can be overridden with
// AWS_ENDPOINT_URL_SECRETS_MANAGER or AWS_ENDPOINT_URL (the SDK's own support)
// or Options.AWSEndpoint. It is built on first use.
//
// # Vault KV v2
//
// The key is a field of the secret's data. KV v2 numbers every write (versions
// 1, 2, 3, …) but has no notion of a pending or previous version: to Vault the
// newest version is simply the latest. vrwxctl records the stages in the
// secret's metadata, in custom_metadata, as version numbers written in decimal:
//
//	vrwxctl_current   the version that is current (the key the relayer must use)
//	vrwxctl_pending   a version written by a rotation and not yet promoted
//	vrwxctl_previous  the version that was current before the last promote
//
// A key that is absent means no version has that stage. Other custom_metadata
// keys, and the secret's max_versions, cas_required and delete_version_after,
// are left as they are.
//
//   - Reading the current key reads the version named by vrwxctl_current; a
//     secret without that key (never written by vrwxctl) is read at its latest
//     version, as `vault kv get` does.
//   - WritePending writes a new version with check-and-set (options.cas = the
//     current_version it read, 0 for a new secret), so of two rotations that
//     start from the same version exactly one can write; the other fails and
//     writes nothing. It then sets vrwxctl_pending. Before the first such write
//     to a secret vrwxctl has not managed yet, it pins vrwxctl_current to the
//     latest version, so the pending version never reads as current through
//     vrwxctl. The other fields of the current version are carried over. A new
//     secret's first version is current at once.
//   - Promote sets vrwxctl_current to the pending version, vrwxctl_previous to
//     the old current, and removes vrwxctl_pending.
//   - Rollback swaps vrwxctl_current and vrwxctl_previous.
//   - DiscardPending removes vrwxctl_pending; the version stays in Vault.
//
// The markers are written as a JSON merge patch of custom_metadata (PATCH
// metadata, Vault 1.9+; the token needs the patch capability), so a writer changes
// only its keys and two writers at once keep each other's.
//
// A rotation's claim is the new version's write itself, with check-and-set on the
// version read: of two rotations exactly one writes. Its identity then goes into
// custom_metadata as vrwxctl_rotation (with the version). A version newer than the
// current one that no marker names is treated as a claim being recorded (or left
// by a rotation that stopped) until DiscardPending marks it vrwxctl_discarded.
// CheckWritable reads the token's capabilities on the data and metadata paths
// (sys/capabilities-self).
//
// Whatever reads the secret from Vault directly (the relayer, `vault kv get`)
// sees the latest version, which between WritePending and Promote is the
// pending key: such readers must read the version named by vrwxctl_current, or
// nothing may restart them between the two steps. Vault has no check-and-set
// for metadata, so the stage markers themselves are last-writer-wins; the key
// material is what check-and-set protects.
//
// Credentials: VAULT_ADDR, VAULT_TOKEN and VAULT_NAMESPACE as the vault CLI
// reads them (Options.VaultAddr overrides VAULT_ADDR); without a token, AppRole
// login with VAULT_ROLE_ID and VAULT_SECRET_ID at auth/approle. The client is
// built on first use.
//
// # Local files
//
// file:// (hex) and keystore:// keys keep their versions as sibling files:
//
//	PATH                    current
//	PATH.pending            pending
//	PATH.previous           previous
//	PATH.retired-0xADDRESS  an older previous or a discarded pending, kept
//	PATH.rollback           present only while a rollback is in flight
//
// A version's ID is the address of the key it holds, so it stays the same when
// promote and rollback rename the files. Promote and rollback hard-link the current
// key aside and rename over PATH, so PATH always holds a key; run again after an
// interruption, they complete. A rotation's claim is an exclusive lock file,
// PATH.rotation (created by a hard link, which fails if it exists), holding its
// identity and version — never a key — removed by ReleaseClaim. A new pending file is
// created by hard-linking a finished temporary file, which fails if one exists,
// so two writers cannot both create a pending key. Files are written with mode
// 0600; a hex key file whose mode is not 0600 or 0400 is refused. All versions
// of a keystore share one password, and listing versions needs none (a keystore
// records its address in clear).
package secrets
