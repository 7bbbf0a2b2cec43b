package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/auditgraph/auditgraph/auth"
)

func cmdSettings(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var databaseURL string
	f := newFlags("settings", "auditgraph settings set password-grant on|off | auditgraph settings get password-grant",
		"Environment-wide switches. With the password grant off, the token endpoint answers unauthorized_client.\n"+
			"Every change is recorded in the audit log.", getenv, stdout, stderr)
	f.env(&databaseURL, "database-url", "DATABASE_URL", "", "PostgreSQL connection string")
	pos, err := f.parse(args)
	if err != nil {
		return helpOrUsage(err)
	}
	switch {
	case len(pos) == 2 && pos[0] == "get" && pos[1] == auth.PasswordGrantSetting:
	case len(pos) == 3 && pos[0] == "set" && pos[1] == auth.PasswordGrantSetting && (pos[2] == "on" || pos[2] == "off"):
	default:
		f.fs.Usage()
		return errUsage
	}
	st, closeStore, err := openStore(ctx, databaseURL, "settings")
	if err != nil {
		return err
	}
	defer closeStore()
	if pos[0] == "get" {
		v, err := st.Setting(ctx, pos[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %s\n", pos[1], v)
		return nil
	}
	old, err := st.SetSetting(ctx, pos[1], pos[2])
	if err != nil {
		return err
	}
	if err := recordOperator(ctx, st, "settings", "set-setting", "setting", pos[1], map[string]any{"old": old, "new": pos[2]}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "settings: %s was %s, is %s\n", pos[1], old, pos[2])
	return nil
}

func cmdKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var databaseURL string
	f := newFlags("keys", "auditgraph keys rotate",
		"Makes a new signing key for access tokens and digests. The old keys sign nothing more; they verify the\n"+
			"tokens they signed until those expire (an hour), and the digests they signed for good. Servers pick the\n"+
			"new key up within seconds. Recorded in the audit log.", getenv, stdout, stderr)
	f.env(&databaseURL, "database-url", "DATABASE_URL", "", "PostgreSQL connection string")
	pos, err := f.parse(args)
	if err != nil {
		return helpOrUsage(err)
	}
	if len(pos) != 1 || pos[0] != "rotate" {
		f.fs.Usage()
		return errUsage
	}
	st, closeStore, err := openStore(ctx, databaseURL, "keys rotate")
	if err != nil {
		return err
	}
	defer closeStore()
	k, err := auth.NewSigningKey()
	if err != nil {
		return err
	}
	if err := st.RotateSigningKey(ctx, k); err != nil {
		return errors.Join(errors.New("keys rotate: no key was changed"), err)
	}
	if err := recordOperator(ctx, st, "key-management", "rotate-signing-key", "signing-key", k.KID, nil); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "keys rotate: the new key is %s\n", k.KID)
	return nil
}
