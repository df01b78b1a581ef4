package rotation

import (
	"context"
	"strings"

	"github.com/vrwx/vrwxctl/pkg/redact"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

// DeployEnv is the environment the deploy command runs with: environ (the
// process's, which kubectl and the like need: PATH, HOME, KUBECONFIG) minus every
// variable a signer reference in refs names (env://VAR, a keystore's
// ?password-env=VAR) and minus every variable whose value holds 64 hex digits in a
// row (a key, whoever put it there). The values of credential variables that stay
// (VAULT_TOKEN, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, …: see credentialVar) are
// registered with the scrubber, so a deploy command that prints its environment
// shows them redacted.
func DeployEnv(environ, refs []string) []string {
	drop := map[string]bool{}
	for _, s := range refs {
		ref, err := secrets.ParseRef(s)
		if err != nil {
			continue
		}
		for _, name := range []string{ref.Var, ref.PasswordEnv} {
			if name != "" {
				drop[name] = true
			}
		}
	}
	out := []string{}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if drop[name] || redact.HasHexRun(value) {
			continue
		}
		if credentialVar(name) && !pathLike(name, value) {
			redact.RegisterSecret(value)
		}
		out = append(out, kv)
	}
	return out
}

// credentialWords are the words of a variable's name (split at _) that say its
// value is a credential.
var credentialWords = map[string]bool{
	"TOKEN": true, "SECRET": true, "PASSWORD": true, "PASSWD": true, "PASS": true, "PASSPHRASE": true,
	"KEY": true, "APIKEY": true, "CREDENTIAL": true, "CREDENTIALS": true, "AUTH": true, "PRIVATE": true,
	"SESSION": true, "COOKIE": true, "PAT": true,
}

// credentialVar reports whether the variable name says its value is a credential:
// VAULT_TOKEN, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, GITHUB_TOKEN,
// DATABASE_PASSWORD, DATADOG_API_KEY.
func credentialVar(name string) bool {
	for _, w := range strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		if credentialWords[w] {
			return true
		}
	}
	return false
}

// pathLike reports whether a credential variable holds where a credential is
// rather than the credential (AWS_SHARED_CREDENTIALS_FILE, SSH_AUTH_SOCK,
// GOOGLE_APPLICATION_CREDENTIALS=/path): registering a path would remove every
// mention of its directory from the output, the rotation journal's included.
func pathLike(name, value string) bool {
	words := strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool { return r == '_' || r == '-' || r == '.' })
	if len(words) > 0 {
		switch words[len(words)-1] {
		case "FILE", "PATH", "DIR", "SOCK", "SOCKET":
			return true
		}
	}
	return strings.HasPrefix(value, "/") || strings.HasPrefix(value, "~") || strings.HasPrefix(value, "./") || strings.HasPrefix(value, "../")
}

// deployEnv is DeployEnv for this rotation: the references it knows (the store, the
// treasury's signer, EnvRefs), after every key the store holds was loaded and so
// registered with the scrubber in every form it knows (hex, reversed, base64): a
// deploy command that reads the store itself and prints what it read shows nothing.
func (r *rotator) deployEnv(ctx context.Context, j *Journal) []string {
	r.loadStoreKeys(ctx)
	refs := append([]string{r.base.String(), r.TreasuryRef, j.Treasury.Signer}, r.EnvRefs...)
	return DeployEnv(r.Environ, refs)
}

// loadStoreKeys reads every version of the store, so that its key is registered
// with the scrubber (secrets.FromECDSA does it) before anything else runs. A
// keystore holds only encrypted keys and is not decrypted for this; a version that
// cannot be read is left: the rotation reads what it needs itself.
func (r *rotator) loadStoreKeys(ctx context.Context) {
	if r.base.Scheme == secrets.SchemeKeystore {
		return
	}
	vs, err := r.Store.Versions(ctx)
	if err != nil {
		return
	}
	for _, v := range vs {
		if v.ID == "" {
			continue
		}
		_, _, _ = r.Store.Read(ctx, v.ID)
	}
}
