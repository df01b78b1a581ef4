package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vrwx/vrwxctl/pkg/errs"
	"github.com/vrwx/vrwxctl/pkg/secrets"
)

// claimStores are the writable stores, each with a current key, opened as a
// machine opens them (a new Store value per call: nothing shared but the backend).
func claimStores(t *testing.T) map[string]func() secrets.Store {
	t.Helper()
	sm := awsEnv(t)
	v := vaultEnv(t)
	_, h := testKey(t)
	sm.Seed("vrwx/relayer", `{"RELAYER_PRIVATE_KEY":"0x`+h+`","OTHER":"kept"}`)
	v.WriteData("", "secret", "vrwx/relayer", map[string]any{"RELAYER_PRIVATE_KEY": "0x" + h})
	dir := t.TempDir()
	fileRef := "file://" + filepath.Join(dir, "relayer.hex")
	k, _ := testKey(t)
	if _, err := mustOpen(t, fileRef, secrets.Options{}).WritePending(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	open := func(ref string) func() secrets.Store {
		return func() secrets.Store { return mustOpen(t, ref, secrets.Options{}) }
	}
	return map[string]func() secrets.Store{
		"aws-sm": open("aws-sm://vrwx/relayer"),
		"vault":  open("vault://secret/vrwx/relayer"),
		"file":   open(fileRef),
	}
}

func claims(t *testing.T, s secrets.Store) secrets.Claims {
	t.Helper()
	c, err := secrets.ClaimsOf(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func rot(id string, old string) secrets.Rotation {
	return secrets.Rotation{ID: id, Mode: "standard", Started: time.Unix(1767225600, 0).UTC(), By: "op@host",
		Treasury: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", FundWei: "500000000000000000", Old: old}
}

// Of several claims started at once on one store, exactly one is taken; every
// other is refused naming the winner, and no second key is pending. The claim is
// read back as the winner's from a fresh handle, survives the promote, and goes
// with ReleaseClaim.
func TestClaimExactlyOneWins(t *testing.T) {
	for name, open := range claimStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := ctxT(t)
			_, cur, err := open().Read(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if c, err := claims(t, open()).Claim(ctx); err != nil || c != nil {
				t.Fatalf("a store no rotation touched: claim %+v, %v", c, err)
			}
			const n = 4
			versions := make([]secrets.Version, n)
			errsOf := make([]error, n)
			keys := make([]secrets.PrivateKey, n)
			var wg sync.WaitGroup
			for i := range n {
				keys[i], _ = testKey(t)
				wg.Add(1)
				go func() {
					defer wg.Done()
					versions[i], errsOf[i] = claims(t, open()).ClaimPending(ctx, keys[i], rot(fmt.Sprintf("r-%d", i), cur.ID))
				}()
			}
			wg.Wait()
			winner := -1
			for i, err := range errsOf {
				if err == nil {
					if winner != -1 {
						t.Fatalf("two claims were taken: %d and %d", winner, i)
					}
					winner = i
				}
			}
			if winner == -1 {
				t.Fatalf("no claim was taken: %v", errsOf)
			}
			win := fmt.Sprintf("r-%d", winner)
			for i, err := range errsOf {
				if i == winner {
					continue
				}
				if errs.KindOf(err) != errs.Refused || !errors.Is(err, secrets.ErrClaimed) {
					t.Errorf("claim %d: %v, want a refusal", i, err)
				}
				var ce *secrets.ClaimedError
				if errors.As(err, &ce) && ce.Holder.ID != win && !ce.Holder.Unidentified {
					t.Errorf("claim %d was refused naming %q, not the winner %s: %v", i, ce.Holder.ID, win, err)
				}
			}
			// Any machine reads it back.
			c, err := claims(t, open()).Claim(ctx)
			if err != nil || c == nil || c.ID != win || c.Version != versions[winner].ID || c.Address != keys[winner].Address() || c.Current ||
				c.Treasury != rot("", "").Treasury || c.FundWei != "500000000000000000" || c.Old != cur.ID {
				t.Fatalf("claim read back: %+v (%v), want %s's version %s", c, err, win, versions[winner].ID)
			}
			pend, pv, err := open().ReadPending(ctx)
			if err != nil || !pend.Equal(keys[winner]) || pv.ID != versions[winner].ID {
				t.Fatalf("pending %+v %v, want the winner's key only", pv, err)
			}
			// The same rotation asking again gets its version, not a second one.
			if v, err := claims(t, open()).ClaimPending(ctx, keys[winner], rot(win, cur.ID)); err != nil || v.ID != versions[winner].ID {
				t.Fatalf("repeated claim: %+v %v", v, err)
			}
			// A promote from a version that is no longer current is refused.
			if err := claims(t, open()).PromoteFrom(ctx, versions[winner].ID, "not-the-current"); errs.KindOf(err) != errs.Refused {
				t.Fatalf("promote from a stale current: %v", err)
			}
			if err := claims(t, open()).PromoteFrom(ctx, versions[winner].ID, cur.ID); err != nil {
				t.Fatal(err)
			}
			// Promoted, the rotation still holds the store: no other rotation starts.
			c, err = claims(t, open()).Claim(ctx)
			if err != nil || c == nil || c.ID != win || !c.Current {
				t.Fatalf("after the promote: %+v %v, want %s's claim, current", c, err, win)
			}
			k, _ := testKey(t)
			if _, err := claims(t, open()).ClaimPending(ctx, k, rot("late", versions[winner].ID)); !errors.Is(err, secrets.ErrClaimed) ||
				!strings.Contains(err.Error(), win) {
				t.Fatalf("a rotation after the promote: %v", err)
			}
			if err := claims(t, open()).ReleaseClaim(ctx, "someone-else"); err == nil {
				t.Fatal("another rotation released the claim")
			}
			if err := claims(t, open()).ReleaseClaim(ctx, win); err != nil {
				t.Fatal(err)
			}
			if c, err := claims(t, open()).Claim(ctx); err != nil || c != nil {
				t.Fatalf("after the release: %+v %v", c, err)
			}
			if err := claims(t, open()).ReleaseClaim(ctx, win); err != nil {
				t.Fatalf("a second release: %v", err)
			}
			// The next rotation may claim it.
			if _, err := claims(t, open()).ClaimPending(ctx, k, rot("next", versions[winner].ID)); err != nil {
				t.Fatalf("the next rotation: %v", err)
			}
			if _, _, err := open().Read(ctx, ""); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A pending version nobody claims (key generate) blocks a claim, and discarding it
// (or the rotation's own pending version) leaves the store claimable.
func TestClaimBlockedByUnclaimedPending(t *testing.T) {
	for name, open := range claimStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := ctxT(t)
			_, cur, _ := open().Read(ctx, "")
			k, _ := testKey(t)
			if _, err := open().WritePending(ctx, k); err != nil {
				t.Fatal(err)
			}
			c, err := claims(t, open()).Claim(ctx)
			if err != nil || c == nil || !c.Unidentified || c.Address != k.Address() {
				t.Fatalf("unclaimed pending: %+v %v", c, err)
			}
			k2, _ := testKey(t)
			_, err = claims(t, open()).ClaimPending(ctx, k2, rot("r", cur.ID))
			if !errors.Is(err, secrets.ErrClaimed) || !strings.Contains(err.Error(), "no rotation claims") {
				t.Fatalf("claim over an unclaimed pending: %v", err)
			}
			if err := open().DiscardPending(ctx); err != nil {
				t.Fatal(err)
			}
			v, err := claims(t, open()).ClaimPending(ctx, k2, rot("r", cur.ID))
			if err != nil {
				t.Fatalf("after the discard: %v", err)
			}
			if err := open().DiscardPending(ctx); err != nil {
				t.Fatal(err)
			}
			if c, err := claims(t, open()).Claim(ctx); err != nil || c != nil {
				t.Fatalf("discarding the claimed version %s leaves claim %+v (%v)", v.ID, c, err)
			}
		})
	}
}

// CheckWritable asks without writing: a policy without the permissions is named.
func TestCheckWritable(t *testing.T) {
	sm := awsEnv(t)
	v := vaultEnv(t)
	_, h := testKey(t)
	sm.Seed("vrwx/relayer", `{"RELAYER_PRIVATE_KEY":"0x`+h+`"}`)
	v.WriteData("", "secret", "vrwx/relayer", map[string]any{"RELAYER_PRIVATE_KEY": "0x" + h})
	ctx := ctxT(t)
	for _, ref := range []string{"aws-sm://vrwx/relayer", "vault://secret/vrwx/relayer"} {
		if err := claims(t, mustOpen(t, ref, secrets.Options{})).CheckWritable(ctx); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
	}
	before := len(sm.Stages("vrwx/relayer"))
	if after := len(sm.Stages("vrwx/relayer")); after != before {
		t.Fatalf("the probe wrote a version: %d → %d", before, after)
	}
	sm.Deny("PutSecretValue")
	err := claims(t, mustOpen(t, "aws-sm://vrwx/relayer", secrets.Options{})).CheckWritable(ctx)
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") || !strings.Contains(errs.FixOf(err), "secretsmanager:PutSecretValue") {
		t.Errorf("aws without PutSecretValue: %v (fix %q)", err, errs.FixOf(err))
	}
	// Vault: an AppRole token whose policy only reads the secret.
	v.AddAppRole("role", "secret")
	v.Restrict("secret/data/vrwx/relayer", "read")
	unsetenv(t, "VAULT_TOKEN")
	s := mustOpen(t, "vault://secret/vrwx/relayer", secrets.Options{LookupEnv: envOf("VAULT_ROLE_ID", "role", "VAULT_SECRET_ID", "secret")})
	err = claims(t, s).CheckWritable(ctx)
	if err == nil || !strings.Contains(err.Error(), "may not write secret/data/vrwx/relayer") || !strings.Contains(err.Error(), "read") {
		t.Errorf("vault read-only token: %v", err)
	}
	if _, _, err := s.Read(ctx, ""); err != nil {
		t.Errorf("the read-only token can still read: %v", err)
	}
	if _, err := secrets.ClaimsOf(mustOpen(t, "env://X", secrets.Options{})); err == nil {
		t.Error("env:// has claims")
	}
}
