package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/auditgraph/auditgraph/store"
	"github.com/auditgraph/auditgraph/subscription"
)

const subscriberUsage = `Usage:
  auditgraph subscriber add NAME --url URL --actions A,B,... --secret-stdin
  auditgraph subscriber update NAME [--actions A,B,...] [--url URL] [--secret-stdin]
  auditgraph subscriber list
  auditgraph subscriber remove NAME
  auditgraph subscriber resume NAME     go on delivering to a paused subscriber, from where it stopped
`

func cmdSubscriber(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, subscriberUsage)
		return errUsage
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "add", "update", "list", "remove", "resume":
	case "-h", "--help", "help":
		fmt.Fprint(stdout, subscriberUsage)
		return nil
	default:
		fmt.Fprintf(stderr, "auditgraph: unknown subscriber command %q\n\n%s", sub, subscriberUsage)
		return errUsage
	}
	var databaseURL, url, actions, maxActions string
	var secretStdin bool
	f := newFlags("subscriber "+sub, "auditgraph subscriber "+sub+" ...",
		"Registers HTTP endpoints that receive, for each record of their actions, a POST signed with HMAC-SHA256\n"+
			"(see the README). The secret is read from standard input. Changes are recorded in the audit log.",
		getenv, stdout, stderr)
	f.env(&databaseURL, "database-url", "DATABASE_URL", "", "PostgreSQL connection string")
	f.env(&maxActions, "max-subscriber-actions", "AUDITGRAPH_MAX_SUBSCRIBER_ACTIONS", "500", "subscribers to more actions are refused")
	if sub == "add" || sub == "update" {
		f.fs.StringVar(&url, "url", "", "the http:// or https:// URL that receives deliveries")
		f.fs.StringVar(&actions, "actions", "", "comma-separated action names, like AuthorizeFundsTransfer,SetAccountNickname")
		f.fs.BoolVar(&secretStdin, "secret-stdin", false, "read the signing secret (at least 16 characters) from standard input")
	}
	pos, err := f.parse(rest)
	if err != nil {
		return helpOrUsage(err)
	}
	max, err := strconv.Atoi(maxActions)
	if err != nil || max < 1 {
		return errors.New("subscriber: AUDITGRAPH_MAX_SUBSCRIBER_ACTIONS must be a positive whole number")
	}
	var name string
	if sub != "list" {
		if len(pos) != 1 {
			return fmt.Errorf("subscriber %s: give exactly one subscriber NAME", sub)
		}
		name = pos[0]
	}
	var actionList []string
	if actions != "" {
		for _, a := range strings.Split(actions, ",") {
			actionList = append(actionList, strings.TrimSpace(a))
		}
	}
	var secret *string
	if secretStdin {
		b, err := io.ReadAll(io.LimitReader(stdin, 4096))
		if err != nil {
			return fmt.Errorf("subscriber %s: read secret: %w", sub, err)
		}
		s := trimPassword(b)
		secret = &s
	}
	if sub == "add" {
		switch {
		case url == "":
			return errors.New("subscriber add: give --url")
		case actionList == nil:
			return errors.New("subscriber add: give --actions")
		case secret == nil:
			return errors.New("subscriber add: pass --secret-stdin and send the signing secret on standard input")
		}
	}
	var warnings []string
	if sub == "add" || sub == "update" {
		checkName := ""
		if sub == "add" {
			checkName = name
		}
		if warnings, err = subscription.Check(checkName, url, actionList, secret, max); err != nil {
			return fmt.Errorf("subscriber %s: %w", sub, err)
		}
	}
	st, closeStore, err := openStore(ctx, databaseURL, "subscriber "+sub)
	if err != nil {
		return err
	}
	defer closeStore()
	var attrs map[string]any
	switch sub {
	case "list":
		subs, err := st.Subscribers(ctx)
		if err != nil {
			return err
		}
		for _, s := range subs {
			state := "delivering"
			if s.Paused {
				state = "PAUSED"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\tbacklog %d\tdelivered %d\t%s\n", s.Name, s.URL, state, s.Backlog, s.DeliveredCount, strings.Join(s.Actions, ","))
			if s.LastError != nil {
				fmt.Fprintf(stdout, "\tlast error %s: %s\n", s.LastErrorAt.UTC().Format(time.RFC3339), *s.LastError)
			}
		}
		return nil
	case "add":
		_, err = st.AddSubscriber(ctx, name, url, *secret, actionList)
		attrs = map[string]any{"url": url, "actions": actionList}
		if err == nil {
			fmt.Fprintf(stdout, "subscriber add: %s receives %s\n", name, strings.Join(actionList, ","))
		}
	case "update":
		var before, after store.Subscriber
		before, after, err = st.UpdateSubscriber(ctx, name, nonEmpty(url), secret, actionList)
		attrs = map[string]any{"oldActions": before.Actions, "newActions": after.Actions}
		if err == nil {
			fmt.Fprintf(stdout, "subscriber update: %s\n  old actions: %s\n  new actions: %s\n", name, strings.Join(before.Actions, ","), strings.Join(after.Actions, ","))
		}
	case "remove":
		err = st.RemoveSubscriber(ctx, name)
	case "resume":
		err = st.ResumeSubscriber(ctx, name)
	}
	switch {
	case errors.Is(err, store.ErrExists):
		return fmt.Errorf("subscriber add: a subscriber called %q exists already; use subscriber update", name)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("subscriber %s: there is no subscriber called %q; see auditgraph subscriber list", sub, name)
	case err != nil:
		return err
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if sub == "remove" || sub == "resume" {
		fmt.Fprintf(stdout, "subscriber %s: done for %s\n", sub, name)
	}
	return recordOperator(ctx, st, "subscriptions", sub+"-subscriber", "subscriber", name, attrs)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
