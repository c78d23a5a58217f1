package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/example/gqlauth/auth"
)

// LoadKeys builds the signing key set from the configuration. In development, with no key
// configured, a key is made once and kept in the data folder so tokens survive a restart.
func LoadKeys(c Config, log *slog.Logger) (*auth.KeySet, error) {
	var current auth.SigningKey
	var err error
	switch {
	case c.JWTAlg == auth.AlgHS256 && c.JWTSecret != nil:
		current, err = auth.NewHMACKey(c.JWTSecret)
		if err != nil {
			return nil, &Error{Var: "JWT_SECRET", Reason: err.Error()}
		}
	case c.JWTAlg != auth.AlgHS256 && c.JWTPrivateKeyFile != "":
		current, err = readKeyFile(c.JWTAlg, c.JWTPrivateKeyFile)
		if err != nil {
			return nil, &Error{Var: "JWT_PRIVATE_KEY_FILE", Reason: err.Error()}
		}
	default:
		current, err = developmentKey(c, log)
		if err != nil {
			return nil, &Error{Var: "DATA_DIR", Reason: "development key: " + err.Error()}
		}
	}
	var previous []auth.SigningKey
	for _, f := range c.JWTPreviousKeys {
		k, err := readKeyFile(c.JWTAlg, f)
		if err != nil {
			return nil, &Error{Var: "JWT_PREVIOUS_KEY_FILES", Reason: err.Error()}
		}
		previous = append(previous, k)
	}
	ks, err := auth.NewKeySet(current, previous...)
	if err != nil {
		return nil, &Error{Var: "JWT_PREVIOUS_KEY_FILES", Reason: err.Error()}
	}
	return ks, nil
}

func readKeyFile(alg, path string) (auth.SigningKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return auth.SigningKey{}, fmt.Errorf("cannot read %s: %w", path, errors.Unwrap(err))
	}
	k, err := auth.ParsePrivateKeyPEM(alg, data)
	if err != nil {
		return auth.SigningKey{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// developmentKey loads or makes the data folder's development key for the configured algorithm.
func developmentKey(c Config, log *slog.Logger) (auth.SigningKey, error) {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return auth.SigningKey{}, err
	}
	if c.JWTAlg == auth.AlgHS256 {
		path := filepath.Join(c.DataDir, "dev-jwt-secret")
		secret, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			raw := make([]byte, 32)
			_, _ = rand.Read(raw)
			secret = []byte(hex.EncodeToString(raw))
			err = WriteSecretFile(path, secret)
		}
		if err != nil {
			return auth.SigningKey{}, err
		}
		log.Warn("no JWT_SECRET set: signing with a development key kept in the data folder; set JWT_SECRET in production", "file", path)
		return auth.NewHMACKey([]byte(strings.TrimSpace(string(secret))))
	}
	path := filepath.Join(c.DataDir, "dev-jwt-"+strings.ToLower(c.JWTAlg)+".pem")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		pemBytes, err := auth.GeneratePrivateKeyPEM(c.JWTAlg)
		if err != nil {
			return auth.SigningKey{}, err
		}
		if err := WriteSecretFile(path, pemBytes); err != nil {
			return auth.SigningKey{}, err
		}
	}
	log.Warn("no JWT_PRIVATE_KEY_FILE set: signing with a development key kept in the data folder", "file", path)
	return readKeyFile(c.JWTAlg, path)
}

// WriteSecretFile writes a secret file readable by its owner only, failing if it exists (two
// processes starting at once must not overwrite each other's key).
func WriteSecretFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
