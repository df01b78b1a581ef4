package secrets

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/lazy"
	"github.com/vrwx/vrwxctl/pkg/redact"
)

// Reference schemes.
const (
	SchemeAWS      = "aws-sm"
	SchemeVault    = "vault"
	SchemeKeystore = "keystore"
	SchemeFile     = "file"
	SchemeEnv      = "env"
)

// DefaultField is the JSON field (AWS) or KV field (Vault) that holds the key when
// a reference names none: the runbook's {"RELAYER_PRIVATE_KEY": "<hex>"}.
const DefaultField = "RELAYER_PRIVATE_KEY"

// RefForms lists the reference forms, for usage and error texts.
const RefForms = "aws-sm://SECRET_ID[?region=REGION][#FIELD], vault://MOUNT/PATH[#FIELD], " +
	"keystore:///PATH[?password-env=VAR], file:///PATH or env://VAR"

// VersionForms says how a reference names one version of a key, for usage texts.
const VersionForms = "add ?stage=current|pending|previous to any aws-sm://, vault://, keystore:// or file:// reference " +
	"(aws-sm:// also takes AWS's own AWSCURRENT, AWSPENDING, AWSPREVIOUS), or ?version=ID: " +
	"an AWS VersionId, a Vault version number, or the address (0x…) of a local key file's key"

// Ref is a parsed signer reference. It names where a key lives and never holds
// key material.
type Ref struct {
	Scheme string
	// SecretID is the Secrets Manager secret name or ARN (aws-sm).
	SecretID string
	// Region is the ?region= of an aws-sm reference ("" = the SDK's chain).
	Region string
	// Mount and Path locate a Vault KV v2 secret: the first path segment is the
	// mount, the rest the secret's path.
	Mount string
	Path  string // also the file path of keystore and file references
	// Field is the JSON/KV field holding the hex key (aws-sm, vault).
	Field string
	// Var is the environment variable of an env reference.
	Var string
	// PasswordEnv names the environment variable holding a keystore's password.
	PasswordEnv string
	// Stage, when set, makes the reference name the version with that stage
	// (StageCurrent, StagePending or StagePrevious) instead of the current one: the
	// ?stage= of a writable store's reference.
	Stage string
	// Version, when set, makes the reference name one version by its ID (see
	// Version.ID): the ?version= of a writable store's reference.
	Version string
}

var (
	envNameRE  = &lazy.Regexp{Expr: `^[A-Za-z_][A-Za-z0-9_]*$`}
	awsIDRE    = &lazy.Regexp{Expr: `^[A-Za-z0-9/_+=.@:-]+$`}
	longHexRE  = &lazy.Regexp{Expr: `(?:0[xX])?[0-9a-fA-F]{32,}`}
	awsVerRE   = &lazy.Regexp{Expr: `^[A-Za-z0-9-]{32,64}$`}
	addressRE  = &lazy.Regexp{Expr: `^0[xX][0-9a-fA-F]{40}$`}
	rawKeyLike = &lazy.Regexp{Expr: `^\s*(?:0[xX])?[0-9a-fA-F]{60,70}\s*$`}
)

// redactRef hides runs of 32 or more hex digits so that a key pasted where a
// reference belongs never reaches an error message.
func redactRef(s string) string {
	return longHexRE.ReplaceAllString(s, "[redacted hex]")
}

// quoteRef quotes (part of) a reference for a message: redact.Quote, after
// redactRef's stricter rule for hex.
func quoteRef(s string) string { return redact.Quote(redactRef(s)) }

// ParseRef parses a signer reference. Errors are errs.Usage and quote the
// reference with any long hex run redacted.
func ParseRef(s string) (Ref, error) {
	shown := quoteRef(s)
	if rawKeyLike.MatchString(s) {
		redact.RegisterKeyLike(s)
		return Ref{}, errs.Usagef("a raw private key was given where a signer reference was expected; keys are never passed as arguments").
			WithFix("store the key and pass a reference instead, e.g. env://RELAYER_PRIVATE_KEY or file:///path/key.hex (mode 0600); expected one of " + RefForms)
	}
	if redact.RegisterKeyLike(s) {
		// file://<key>, aws-sm://<key>: a key pasted where the path or name belongs.
		// The reference is not quoted at all, not even redacted, and the run is
		// registered so no later message can show it either.
		scheme, _, _ := strings.Cut(s, "://")
		return Ref{}, errs.Usagef("the signer reference (scheme %s) holds 64 hex digits, the shape of a raw private key, where a path or a name belongs; it is not shown", quoteRef(scheme)).
			WithFix("store the key and pass a reference to it instead, e.g. file:///path/key.hex (mode 0600) or env://RELAYER_PRIVATE_KEY; expected one of " + RefForms)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || scheme == "" {
		return Ref{}, errs.Usagef("signer reference %s has no scheme; expected one of %s", shown, RefForms)
	}
	rest, frag, hasFrag := strings.Cut(rest, "#")
	rest, rawQuery, hasQuery := strings.Cut(rest, "?")
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return Ref{}, errs.Usagef("signer reference %s has a malformed query; expected one of %s", shown, RefForms)
	}
	r := Ref{Scheme: strings.ToLower(scheme)}
	allowQuery := func(keys ...string) error {
		for k, v := range query {
			known := false
			for _, want := range keys {
				known = known || k == want
			}
			if !known {
				// The value is not quoted: someone may have tried ?password=….
				return errs.Usagef("signer reference %s has an unknown parameter %s (value not shown); %s references accept %s",
					quoteRef(scheme+"://"+rest), quoteRef(k), r.Scheme, orNone(keys))
			}
			if len(v) != 1 || v[0] == "" {
				return errs.Usagef("signer reference %s must give %s exactly once, with a value", shown, k)
			}
		}
		if hasQuery && len(query) == 0 {
			return errs.Usagef("signer reference %s has an empty query; %s references accept %s", shown, r.Scheme, orNone(keys))
		}
		return nil
	}
	field := func() (string, error) {
		if !hasFrag {
			return DefaultField, nil
		}
		if frag == "" {
			return "", errs.Usagef("signer reference %s has an empty #field; expected #FIELD (default %s)", shown, DefaultField)
		}
		if !fieldName(frag) {
			return "", errs.Usagef("signer reference %s: #field %s is not a field name (expected up to 128 letters, digits, _, - and ., e.g. #%s)", shown, quoteRef(frag), DefaultField)
		}
		return frag, nil
	}
	noFrag := func() error {
		if hasFrag {
			return errs.Usagef("signer reference %s: %s references take no #field", shown, r.Scheme)
		}
		return nil
	}

	switch r.Scheme {
	case SchemeAWS:
		if err := allowQuery("region", "stage", "version"); err != nil {
			return Ref{}, err
		}
		if rest == "" || len(rest) > 2048 || !awsIDRE.MatchString(rest) {
			return Ref{}, errs.Usagef("signer reference %s does not name a Secrets Manager secret; expected aws-sm://SECRET_ID[?region=REGION][#FIELD], where SECRET_ID is a secret name (letters, digits and /_+=.@-) or ARN", shown)
		}
		r.SecretID = rest
		r.Region = query.Get("region")
		if r.Region != "" && !awsRegion(r.Region) {
			// The region becomes part of the endpoint's host name; anything else
			// would send the request somewhere no one meant.
			return Ref{}, errs.Usagef("signer reference %s: region %s is not an AWS region (expected lower-case words and a number joined by dashes, e.g. us-east-1 or eu-central-1)", shown, quoteRef(r.Region))
		}
		if r.Field, err = field(); err != nil {
			return Ref{}, err
		}
	case SchemeVault:
		if err := allowQuery("stage", "version"); err != nil {
			return Ref{}, err
		}
		mount, path, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
		if mount == "" || path == "" || strings.HasSuffix(path, "/") || strings.Contains(path, "//") || hasDotSegment(path) {
			return Ref{}, errs.Usagef("signer reference %s does not name a Vault KV v2 secret; expected vault://MOUNT/PATH[#FIELD], e.g. vault://secret/vrwx/prod/relayer", shown)
		}
		r.Mount, r.Path = mount, path
		if r.Field, err = field(); err != nil {
			return Ref{}, err
		}
	case SchemeKeystore, SchemeFile:
		if r.Scheme == SchemeKeystore {
			err = allowQuery("password-env", "stage", "version")
		} else {
			err = allowQuery("stage", "version")
		}
		if err != nil {
			return Ref{}, err
		}
		if err := noFrag(); err != nil {
			return Ref{}, err
		}
		p, uerr := url.PathUnescape(rest)
		if uerr != nil || p == "" {
			return Ref{}, errs.Usagef("signer reference %s does not name a file; expected %s:///ABSOLUTE/PATH (three slashes) or %s://RELATIVE/PATH", shown, r.Scheme, r.Scheme)
		}
		r.Path = p
		if pe := query.Get("password-env"); pe != "" {
			if !envNameRE.MatchString(pe) {
				return Ref{}, errs.Usagef("signer reference %s: password-env must name an environment variable (letters, digits, _), got %s", shown, quoteRef(pe))
			}
			r.PasswordEnv = pe
		}
	case SchemeEnv:
		if err := allowQuery(); err != nil {
			return Ref{}, err
		}
		if err := noFrag(); err != nil {
			return Ref{}, err
		}
		if !envNameRE.MatchString(rest) || longHexRE.MatchString(rest) {
			// A hex run here is usually a shell having expanded env://$VAR.
			return Ref{}, errs.Usagef("signer reference %s does not name an environment variable; expected env://VAR, e.g. env://RELAYER_PRIVATE_KEY", shown).
				WithFix("write the variable's name, env://VAR, not its value (env://$VAR lets the shell put the key itself in the command line)")
		}
		r.Var = rest
	default:
		return Ref{}, errs.Usagef("signer reference %s has unknown scheme %s; expected one of %s", shown, quoteRef(scheme), RefForms)
	}
	if err := r.parseVersion(query.Get("stage"), query.Get("version"), shown); err != nil {
		return Ref{}, err
	}
	return r, nil
}

// parseVersion checks and sets the ?stage= or ?version= of a writable store's
// reference.
func (r *Ref) parseVersion(stage, version, shown string) error {
	if stage != "" && version != "" {
		return errs.Usagef("signer reference %s gives both ?stage= and ?version=; a reference names one version (%s)", shown, VersionForms)
	}
	if stage != "" {
		st, ok := parseStage(r.Scheme, stage)
		if !ok {
			accepted := "current, pending or previous"
			if r.Scheme == SchemeAWS {
				accepted += " (or AWSCURRENT, AWSPENDING, AWSPREVIOUS)"
			}
			return errs.Usagef("signer reference %s: stage %s is not a stage; expected %s", shown, quoteRef(stage), accepted)
		}
		r.Stage = st
	}
	if version == "" {
		return nil
	}
	switch r.Scheme {
	case SchemeAWS:
		if !awsVerRE.MatchString(version) {
			return errs.Usagef("signer reference %s: version %s is not an AWS VersionId (expected 32 to 64 letters, digits and dashes, as `vrwxctl key versions` lists them)", shown, quoteRef(version))
		}
	case SchemeVault:
		n, err := strconv.Atoi(version)
		if err != nil || n <= 0 || strconv.Itoa(n) != version {
			return errs.Usagef("signer reference %s: version %s is not a Vault version number (expected 1, 2, 3, …)", shown, quoteRef(version))
		}
	case SchemeKeystore, SchemeFile:
		if !addressRE.MatchString(version) {
			return errs.Usagef("signer reference %s: version %s is not an address; the versions of a local key file are named by the address of their key (0x + 40 hex digits)", shown, quoteRef(version))
		}
		version = strings.ToLower(version)
	}
	r.Version = version
	return nil
}

// awsRegion reports whether s has the syntax of an AWS region: two or more
// lower-case words and a number, joined by dashes (us-east-1, us-gov-west-1,
// ap-southeast-2).
func awsRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || len(s) > 32 {
		return false
	}
	for i, p := range parts {
		if p == "" {
			return false
		}
		last := i == len(parts)-1
		for _, c := range []byte(p) {
			if last && (c < '0' || c > '9') || !last && (c < 'a' || c > 'z') {
				return false
			}
		}
	}
	return true
}

// fieldName reports whether s can name a field of a JSON secret: letters, digits,
// _, - and ., at most 128.
func fieldName(s string) bool {
	if len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// parseStage maps a ?stage= value to a stage: current, pending and previous in
// any case, and for AWS its own staging labels.
func parseStage(scheme, s string) (string, bool) {
	switch strings.ToLower(s) {
	case StageCurrent, StagePending, StagePrevious:
		return strings.ToLower(s), true
	}
	if scheme == SchemeAWS {
		switch strings.ToUpper(s) {
		case awsCurrent:
			return StageCurrent, true
		case awsPending:
			return StagePending, true
		case awsPrevious:
			return StagePrevious, true
		}
	}
	return "", false
}

func orNone(keys []string) string {
	if len(keys) == 0 {
		return "no parameters"
	}
	return strings.Join(keys, ", ")
}

func hasDotSegment(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// String is the canonical form of the reference, safe for messages and logs.
func (r Ref) String() string {
	var b strings.Builder
	b.WriteString(r.Scheme)
	b.WriteString("://")
	var query []string
	switch r.Scheme {
	case SchemeAWS:
		b.WriteString(r.SecretID)
		if r.Region != "" {
			query = append(query, "region="+url.QueryEscape(r.Region))
		}
	case SchemeVault:
		b.WriteString(r.Mount + "/" + r.Path)
	case SchemeKeystore, SchemeFile:
		b.WriteString(r.Path)
		if r.PasswordEnv != "" {
			query = append(query, "password-env="+r.PasswordEnv)
		}
	case SchemeEnv:
		b.WriteString(r.Var)
	}
	if r.Stage != "" {
		query = append(query, "stage="+r.Stage)
	}
	if len(query) > 0 {
		b.WriteString("?" + strings.Join(query, "&"))
	}
	out := redactRef(b.String())
	// A version was checked when the reference was parsed: an AWS VersionId, a
	// number, or an address, none of which is key material, so it is shown as it is
	// (an address would otherwise look like a long hex run).
	if r.Version != "" {
		if len(query) > 0 {
			out += "&version=" + r.Version
		} else {
			out += "?version=" + r.Version
		}
	}
	if r.Scheme == SchemeAWS || r.Scheme == SchemeVault {
		out += "#" + redactRef(r.Field)
	}
	return out
}

// Versioned reports whether the reference names one version (?stage= or
// ?version=) rather than the store itself.
func (r Ref) Versioned() bool { return r.Stage != "" || r.Version != "" }

// Base is the reference without its ?stage= or ?version=: the store itself.
func (r Ref) Base() Ref {
	r.Stage, r.Version = "", ""
	return r
}

// AtVersion is the reference to the version id of the same store.
func (r Ref) AtVersion(id string) Ref {
	r.Stage, r.Version = "", id
	if r.Scheme == SchemeKeystore || r.Scheme == SchemeFile {
		r.Version = strings.ToLower(id)
	}
	return r
}

// AtStage is the reference to the version of the same store with stage.
func (r Ref) AtStage(stage string) Ref {
	r.Stage, r.Version = stage, ""
	return r
}

// Writable reports whether the reference's store accepts new versions (every
// scheme but env).
func (r Ref) Writable() bool { return r.Scheme != SchemeEnv && r.Scheme != "" }

// Shown is the reference as messages show it: redact.Mask of String, so a key
// pasted into a path or a name is never repeated.
func (r Ref) Shown() string { return redact.Mask(r.String()) }

// absoluteHint is, for a file or keystore reference to a relative path, what it
// names and how an absolute path is written: file://tmp/k.hex is ./tmp/k.hex, and
// almost always meant file:///tmp/k.hex. "" for an absolute path or another scheme.
func (r Ref) absoluteHint() string {
	if (r.Scheme != SchemeFile && r.Scheme != SchemeKeystore) || strings.HasPrefix(r.Path, "/") {
		return ""
	}
	abs := r
	abs.Path = "/" + r.Path
	hint := fmt.Sprintf("%s names the relative path %s (two slashes: under the current directory); an absolute path takes three: %s", r.Shown(), redact.Mask(r.Path), abs.Shown())
	if _, err := os.Stat(abs.Path); err == nil {
		hint += fmt.Sprintf(" (%s exists)", redact.Mask(abs.Path))
	}
	return hint
}
