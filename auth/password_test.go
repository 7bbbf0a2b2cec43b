package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHasherHashVerify(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(DefaultArgon2, 0)
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(enc, want) {
		t.Errorf("hash %q does not start with %q", enc, want)
	}
	if n := strings.Count(enc, "$"); n != 5 {
		t.Errorf("hash %q has %d '$', want 5 (PHC format)", enc, n)
	}
	if ok, err := h.Verify(ctx, enc, "correct horse battery staple"); !ok || err != nil {
		t.Errorf("Verify(right password) = %v, %v; want true, nil", ok, err)
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", "correct horse battery staple "} {
		if ok, err := h.Verify(ctx, enc, wrong); ok || err != nil {
			t.Errorf("Verify(%q) = %v, %v; want false, nil", wrong, ok, err)
		}
	}
	again, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if again == enc {
		t.Errorf("two hashes of one password are equal (%q): the salt is not random", enc)
	}
}

// The parameters are read from each hash, so hashes made with other
// parameters (older, or raised later) keep verifying.
func TestHasherVerifyReadsParametersFromHash(t *testing.T) {
	ctx := context.Background()
	other := NewHasher(Argon2Params{MemoryKiB: 8192, Iterations: 1, Threads: 1}, 1)
	enc, err := other.Hash(ctx, "s3cret")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if want := "$argon2id$v=19$m=8192,t=1,p=1$"; !strings.HasPrefix(enc, want) {
		t.Fatalf("hash %q does not start with %q", enc, want)
	}
	h := NewHasher(DefaultArgon2, 1)
	if ok, err := h.Verify(ctx, enc, "s3cret"); !ok || err != nil {
		t.Errorf("default Hasher: Verify(right password) = %v, %v; want true, nil", ok, err)
	}
	if ok, err := h.Verify(ctx, enc, "s3cre7"); ok || err != nil {
		t.Errorf("default Hasher: Verify(wrong password) = %v, %v; want false, nil", ok, err)
	}
}

// An empty hash stands for an unknown user: no error, never a match.
func TestHasherVerifyEmptyHash(t *testing.T) {
	h := NewHasher(fastArgon2, 1)
	for _, pw := range []string{"", "anything", "dummy password for unknown users"} {
		if ok, err := h.Verify(context.Background(), "", pw); ok || err != nil {
			t.Errorf("Verify(\"\", %q) = %v, %v; want false, nil", pw, ok, err)
		}
	}
}

func TestHasherVerifyMalformedHash(t *testing.T) {
	const salt = "c2FsdHNhbHRzYWx0c2FsdA"                     // "saltsaltsaltsalt"
	const key = "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U" // 32 bytes
	good := "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key
	h := NewHasher(fastArgon2, 1)
	if _, err := h.Verify(context.Background(), good, "pw"); err != nil {
		t.Fatalf("the well-formed control hash %q is refused: %v", good, err)
	}
	for _, enc := range []string{
		"plaintext",
		"$",
		"$$$$$",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt, // no key
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$x", // extra part
		"argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",   // shifted
		"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", // bcrypt
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=x$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=x,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64;t=1;p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + key, // p overflows uint8
		"$argon2id$v=19$m=-1,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "!$" + key,      // salt not base64
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "=", // padded
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$",             // empty key
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$%%%%",
		// Zero passes or zero lanes: argon2.IDKey panics on these, so they
		// must be refused before it is called.
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		// Less memory than 8 KiB a lane, or more than 4 GiB, is no hash
		// this service makes; the latter would exhaust the memory.
		"$argon2id$v=19$m=7,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=15,t=1,p=2$" + salt + "$" + key,
		"$argon2id$v=19$m=4194305,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key,
	} {
		t.Run(enc, func(t *testing.T) {
			ok, err, panicked := verifyNoPanic(h, enc, "pw")
			if panicked != nil {
				t.Fatalf("Verify(%q) panicked: %v; want false and an error", enc, panicked)
			}
			if ok || err == nil {
				t.Errorf("Verify(%q) = %v, %v; want false and an error", enc, ok, err)
			}
		})
	}
}

// verifyNoPanic reports a panic of Verify, so that one bad case fails its
// test instead of the whole test binary.
func verifyNoPanic(h *Hasher, enc, pw string) (ok bool, err error, panicked any) {
	defer func() { panicked = recover() }()
	ok, err = h.Verify(context.Background(), enc, pw)
	return ok, err, nil
}

func TestHasherContextCancelledWhileSlotsTaken(t *testing.T) {
	h := NewHasher(fastArgon2, 1)
	if err := h.acquire(context.Background()); err != nil {
		t.Fatalf("acquire: %v", err)
	}
	enc := "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"

	// Cancelled before the call.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if s, err := h.Hash(ctx, "pw"); s != "" || !errors.Is(err, context.Canceled) {
		t.Errorf("Hash(cancelled) = %q, %v; want \"\", context.Canceled", s, err)
	}
	if ok, err := h.Verify(ctx, enc, "pw"); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("Verify(cancelled) = %v, %v; want false, context.Canceled", ok, err)
	}
	if ok, err := h.Verify(ctx, "", "pw"); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("Verify(cancelled, unknown user) = %v, %v; want false, context.Canceled", ok, err)
	}

	// Cancelled while waiting for the slot.
	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(ctx, "pw")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Hash returned %v while the only slot was taken", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Hash cancelled while waiting: %v; want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Hash did not return after its context was cancelled")
	}

	// Deadline while waiting.
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if ok, err := h.Verify(ctx, enc, "pw"); ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Verify(deadline) = %v, %v; want false, context.DeadlineExceeded", ok, err)
	}

	// Once the slot is free, hashing works again: the failed calls did not
	// take or give back a slot.
	h.release()
	enc2, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatalf("Hash after release: %v", err)
	}
	if ok, err := h.Verify(context.Background(), enc2, "pw"); !ok || err != nil {
		t.Errorf("Verify after release = %v, %v; want true, nil", ok, err)
	}
	if n := len(h.slots); n != 0 {
		t.Errorf("%d slots still taken after every call returned", n)
	}
}
