package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// helperEnv names the helper a child test process runs (see TestMain).
const helperEnv = "TRAWL_TEST_HELPER"

// TestHelperInterruptContext is not a test: run as a child process with
// helperEnv=interrupt, it waits for the first interrupt through
// interruptContext (what run uses) and then takes a minute to "stop".
func TestHelperInterruptContext(t *testing.T) {
	if os.Getenv(helperEnv) != "interrupt" {
		return
	}
	ctx, stop := interruptContext()
	defer stop()
	fmt.Println("ready")
	<-ctx.Done()
	fmt.Println("interrupted")
	time.Sleep(time.Minute)
	os.Exit(0)
}

// TestSecondInterruptRestoresDefault checks that after the first SIGINT a
// second one is no longer caught: it kills a process whose shutdown hangs.
func TestSecondInterruptRestoresDefault(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperInterruptContext$")
	cmd.Env = append(os.Environ(), helperEnv+"=interrupt")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	for _, want := range []string{"ready", "interrupted"} {
		if !sc.Scan() || sc.Text() != want {
			t.Fatalf("the helper printed %q, want %q", sc.Text(), want)
		}
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var xe *exec.ExitError
		if !errors.As(err, &xe) || xe.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
			t.Errorf("the second SIGINT should kill the process; it ended with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the second SIGINT was caught again: the process is still running")
	}
}
