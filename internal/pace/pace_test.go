package pace

import (
	"context"
	"testing"
	"time"
)

// TestPacerHoldsTheRate checks that 1 MiB at 4 MiB/s takes about a
// quarter of a second, that no limit does not wait, and that a cancelled
// context ends the wait.
func TestPacerHoldsTheRate(t *testing.T) {
	p := New(4 << 20)
	start := time.Now()
	for range 16 {
		if err := p.Wait(context.Background(), 64<<10); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 200*time.Millisecond || took > 2*time.Second {
		t.Fatalf("1 MiB at 4 MiB/s took %v, want about 250ms", took)
	}
	start = time.Now()
	if err := New(0).Wait(context.Background(), 1<<30); err != nil || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("no limit: %v after %v", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := New(1).Wait(ctx, 1<<20); err == nil {
		t.Fatal("a cancelled wait returned no error")
	}
}
