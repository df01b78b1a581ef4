package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/google/uuid"
	"github.com/vrwx/vrwxctl/pkg/redact"
	"golang.org/x/term"

	"github.com/vrwx/vrwxctl/pkg/errs"
)

// keystoreCodec stores a key in go-ethereum's encrypted JSON keystore format (the
// one `cast wallet import` and geth write). The password comes from the
// environment variable named by ?password-env=, else from a no-echo prompt.
type keystoreCodec struct{}

func readKeystoreFile(path, name string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errs.Usagef("keystore file %s does not exist (%s)", redact.Mask(path), name)
		}
		return nil, errs.Failedf("cannot read keystore file %s (%s)", redact.Mask(path), name).Wrap(err)
	}
	return b, nil
}

// recordedAddress is the address a keystore file states in clear; "" when the
// file does not state one.
func recordedAddress(b []byte, path, name string) (string, error) {
	var head struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return "", errs.Usagef("%s is not a JSON keystore file (%s)", redact.Mask(path), name)
	}
	if head.Address != "" && !common.IsHexAddress(head.Address) {
		return "", errs.Usagef("keystore file %s has a malformed address field (%s)", redact.Mask(path), name)
	}
	return head.Address, nil
}

func (keystoreCodec) load(ctx context.Context, s *localStore, path, name string) (PrivateKey, error) {
	b, err := readKeystoreFile(path, name)
	if err != nil {
		return PrivateKey{}, err
	}
	recorded, err := recordedAddress(b, path, name)
	if err != nil {
		return PrivateKey{}, err
	}
	pw, err := s.password(ctx, false)
	if err != nil {
		return PrivateKey{}, err
	}
	k, err := keystore.DecryptKey(b, pw)
	if err != nil {
		if errors.Is(err, keystore.ErrDecrypt) {
			s.pw = nil
			e := errs.Failedf("wrong password for keystore file %s (%s)", redact.Mask(path), name)
			if s.ref.PasswordEnv != "" {
				return PrivateKey{}, e.WithFix("check the password in $" + s.ref.PasswordEnv)
			}
			return PrivateKey{}, e
		}
		return PrivateKey{}, errs.Usagef("%s is not a readable go-ethereum keystore file (%s)", redact.Mask(path), name).Wrap(err)
	}
	key, err := FromECDSA(k.PrivateKey)
	if err != nil {
		return PrivateKey{}, errs.Usagef("keystore file %s holds an invalid private key (%s)", redact.Mask(path), name)
	}
	if recorded != "" && common.HexToAddress(recorded) != key.Address() {
		return PrivateKey{}, errs.Failedf("keystore file %s states address %s but holds the key of %s; the file was altered (%s)",
			path, common.HexToAddress(recorded).Hex(), key.Address().Hex(), name)
	}
	return key, nil
}

func (c keystoreCodec) address(ctx context.Context, s *localStore, path, name string) (common.Address, error) {
	b, err := readKeystoreFile(path, name)
	if err != nil {
		return common.Address{}, err
	}
	recorded, err := recordedAddress(b, path, name)
	if err != nil {
		return common.Address{}, err
	}
	if recorded != "" {
		return common.HexToAddress(recorded), nil
	}
	k, err := c.load(ctx, s, path, name)
	return k.Address(), err
}

func (keystoreCodec) encode(ctx context.Context, s *localStore, key PrivateKey, firstKey bool) ([]byte, error) {
	pw, err := s.password(ctx, firstKey)
	if err != nil {
		return nil, err
	}
	if !firstKey {
		// Every version of one store shares a password: a rotation must not leave
		// the new key under a password nobody meant to set.
		cur := s.stagePath(StageCurrent)
		if _, err := (keystoreCodec{}).load(ctx, s, cur, s.ref.String()); err != nil {
			return nil, err
		}
	}
	n, p := s.opts.ScryptN, s.opts.ScryptP
	if n == 0 || p == 0 {
		n, p = keystore.StandardScryptN, keystore.StandardScryptP
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return nil, errs.Failedf("cannot make a keystore id").Wrap(err)
	}
	b, err := keystore.EncryptKey(&keystore.Key{Id: id, Address: key.Address(), PrivateKey: key.ECDSA()}, pw, n, p)
	if err != nil {
		return nil, errs.Failedf("cannot encrypt the key for %s", s.ref.Shown()).Wrap(err)
	}
	return b, nil
}

// password returns the keystore password: from $PasswordEnv when set, else from
// the prompt. confirm asks twice, for a password being chosen now.
func (s *localStore) password(ctx context.Context, confirm bool) (string, error) {
	if s.pw != nil {
		return *s.pw, nil
	}
	if s.ref.PasswordEnv != "" {
		if v, ok := s.opts.lookupEnv(s.ref.PasswordEnv); ok {
			s.pw = &v
			return v, nil
		}
	}
	prompt := s.opts.Prompt
	if prompt == nil {
		if !term.IsTerminal(int(os.Stdin.Fd())) {
			if s.ref.PasswordEnv != "" {
				return "", errs.Usagef("no password for %s: $%s is not set and stdin is not a terminal to prompt on", s.ref.Shown(), s.ref.PasswordEnv).
					WithFix("export " + s.ref.PasswordEnv + " with the keystore password")
			}
			return "", errs.Usagef("no password for %s: the reference names no password-env and stdin is not a terminal to prompt on", s.ref.Shown()).
				WithFix("add ?password-env=VAR to the reference and export VAR with the keystore password")
		}
		prompt = terminalPrompt
	}
	pw, err := prompt(ctx, fmt.Sprintf("Password for %s: ", s.ref.String()))
	if err != nil {
		return "", errs.Failedf("cannot read the password for %s", s.ref.Shown()).Wrap(err)
	}
	if confirm {
		again, err := prompt(ctx, "Repeat the password: ")
		if err != nil {
			return "", errs.Failedf("cannot read the password for %s", s.ref.Shown()).Wrap(err)
		}
		if again != pw {
			return "", errs.Usagef("the two passwords for %s differ; nothing was written", s.ref.Shown())
		}
	}
	s.pw = &pw
	return pw, nil
}

// terminalPrompt reads a line from the terminal on stdin without echo; the
// prompt goes to stderr so that stdout stays data only.
func terminalPrompt(_ context.Context, prompt string) (string, error) {
	fd := int(os.Stdin.Fd())
	fmt.Fprint(os.Stderr, prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
