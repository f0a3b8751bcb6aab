package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/anishathalye/porcupine"
	fleetv1 "github.com/shingle-storage/shingle/api/fleet/v1"
	"github.com/shingle-storage/shingle/api/fleet/v1/fleetv1connect"
	"github.com/shingle-storage/shingle/fleetd/pki"
)

// The linearizability test reads and writes two kinds of keys through the
// public API, and checks the history against a model of one register per
// key:
//
//   - a host's agent address ("h0".."h3"): put is AgentService.Register
//     with a reusable join token, which sets the address of a known host
//     (a follower relays the call to the leader); get is FleetService.GetHost.
//   - a rack's power budget ("k<n>"): create is FleetService.AddRack with
//     the budget, which succeeds only if the rack does not exist yet and is
//     otherwise refused with already_exists (a follower forwards the
//     command to the leader); get is FleetService.GetRack.
//
// Every read is linearizable (not stale). "" stands for a key that does not
// exist.

// kvOp is what a client asked for.
type kvOp uint8

const (
	kvPut kvOp = iota
	kvCreate
	kvGet
)

// kvInput is the input of one operation.
type kvInput struct {
	op    kvOp
	key   string
	value string // written by put and create
}

// kvOutput is what the client saw.
type kvOutput struct {
	value   string // read by get
	exists  bool   // create was refused: the key existed
	unknown bool   // the write failed in a way that leaves its outcome open
}

// kvModel is one register per key; porcupine checks each key apart.
var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(kvInput).key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(string), input.(kvInput), output.(kvOutput)
		switch in.op {
		case kvGet:
			return out.value == st, st
		case kvPut:
			// A put whose outcome is unknown and that never applied is
			// the same as one applied after everything else: its return
			// time is the end of the history.
			return true, in.value
		default: // kvCreate
			switch {
			case out.unknown:
				if st == "" {
					return true, in.value
				}
				return true, st
			case out.exists:
				return st != "", st
			default:
				return st == "", in.value
			}
		}
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(kvInput), output.(kvOutput)
		var s string
		switch in.op {
		case kvGet:
			return fmt.Sprintf("get(%s) -> %q", in.key, out.value)
		case kvPut:
			s = fmt.Sprintf("put(%s, %q)", in.key, in.value)
		default:
			s = fmt.Sprintf("create(%s, %q)", in.key, in.value)
			if out.exists {
				return s + " -> exists"
			}
		}
		if out.unknown {
			return s + " -> unknown"
		}
		return s + " -> ok"
	},
	DescribeState: func(state any) string { return fmt.Sprintf("%q", state.(string)) },
}

// history records operations from many goroutines. Times are nanoseconds
// since the history began (monotonic).
type history struct {
	start time.Time

	mu       sync.Mutex
	ops      []porcupine.Operation
	unknown  []int // indexes of operations whose outcome is open
	faults   []porcupine.Annotation
	clients  int // porcupine client ids handed out
	dropped  int // failed reads, and writes known not to have applied
	unwanted []string
}

func (h *history) now() int64 { return int64(time.Since(h.start)) }

// newClient hands out a porcupine client id. A client whose write ended
// with an unknown outcome takes a new id, since that write stays open to
// the end of the history (as Jepsen's processes do).
func (h *history) newClient() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients++
	return h.clients - 1
}

func (h *history) add(client int, in kvInput, call int64, out kvOutput, via string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if out.unknown {
		h.unknown = append(h.unknown, len(h.ops))
	}
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: h.now(), Metadata: via})
}

// drop counts an operation left out of the history: a failed read says
// nothing, and a write known not to have applied did not happen.
func (h *history) drop() { h.mu.Lock(); h.dropped++; h.mu.Unlock() }

// unexpected records an answer that no correct fleetd gives.
func (h *history) unexpected(format string, args ...any) {
	h.mu.Lock()
	h.unwanted = append(h.unwanted, fmt.Sprintf(format, args...))
	h.mu.Unlock()
}

// fault logs a fault that began at start and has just ended, and keeps it
// for the visualization.
func (h *history) fault(t *testing.T, start int64, what string) {
	t.Logf("%5.1fs to %5.1fs: %s", float64(start)/1e9, float64(h.now())/1e9, what)
	h.mu.Lock()
	h.faults = append(h.faults, porcupine.Annotation{Tag: "faults", Start: start, End: h.now(), Description: what, BackgroundColor: "#f8d7da"})
	h.mu.Unlock()
}

// close ends the history: operations with an unknown outcome return after
// everything else.
func (h *history) close() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	end := h.now() + 1
	for _, i := range h.unknown {
		h.ops[i].Return = end
	}
	return h.ops
}

// writeOutcome sorts a write's error by what it says about the write: nil
// (applied), refused because the key exists (not applied: a definite
// answer), not applied (the server could not be reached, or answered
// Shingle-No-Leader, which fleetd sends only for a write it has not
// proposed), or an unknown outcome (anything else: a timeout, a broken
// connection, Shingle-Outcome-Unknown). Any other refusal by the state
// machine is unexpected.
func writeOutcome(h *history, what string, err error) (out kvOutput, maybeApplied bool) {
	if err == nil {
		return kvOutput{}, true
	}
	var ce *connect.Error
	switch {
	case notSent(err):
		return kvOutput{}, false
	case !errors.As(err, &ce):
	case ce.Meta().Get(fleetv1.MetaStateCode) == "already_exists":
		return kvOutput{exists: true}, true
	case ce.Meta().Get(fleetv1.MetaStateCode) != "":
		h.unexpected("%s was refused: %v", what, err)
	case ce.Meta().Get(fleetv1.MetaNoLeader) != "":
		return kvOutput{}, false
	}
	return kvOutput{unknown: true}, true
}

// TestLinearizableUnderFailoverAndPartition runs six clients, two per
// server, that read and write a few keys through the fleet API (see
// kvModel: host addresses set through AgentService.Register and relayed to
// the leader, rack power budgets created through FleetService.AddRack and
// forwarded to the leader, linearizable GetHost and GetRack reads), while
// the test kills the leader with SIGKILL and restarts it, and cuts the
// leader and then a follower off from the others with network namespaces
// (see netLab) and heals them. Every operation is recorded with its
// invocation and response times; a write that failed without a definite
// answer stays open to the end of the history, a failed read is left out.
// A write answered with Shingle-No-Leader, or that could not be sent, is
// left out as not applied: that is what fleetd promises for it (a write
// relayed to a leader that died before answering once came back this way
// although the leader had applied it, which this test caught).
// Porcupine then proves the history of at least 1,000 operations
// linearizable: every read saw the latest write, as if each operation had
// happened at one instant between its call and its return, across
// failovers and partitions. It also checks that all three servers end with
// the same copy of every key.
func TestLinearizableUnderFailoverAndPartition(t *testing.T) {
	const (
		workers = 6
		minOps  = 1000
		hosts   = 4
	)
	lab := newNetLab(t, 3)
	f := labFleet(t, lab)
	l := f.leader()
	f.seed(l)
	if err := f.addRack(ctx(t, 10*time.Second), l, "r"); err != nil {
		t.Fatal(err)
	}
	tok, err := fleetv1connect.NewTokenServiceClient(f.client, "https://"+l.api).CreateToken(ctx(t, 10*time.Second),
		connect.NewRequest(&fleetv1.CreateTokenRequest{Rack: "r"}))
	if err != nil {
		t.Fatal(err)
	}
	token := tok.Msg.GetToken()

	nodes := f.up()
	fleetAPI := make([]fleetv1connect.FleetServiceClient, len(nodes))
	agents := make([][]fleetv1connect.AgentServiceClient, hosts) // [host][node]
	for i, p := range nodes {
		fleetAPI[i] = f.fleetAPI(p)
	}
	for h := range hosts {
		c := lab.httpClient(f.cert(fmt.Sprintf("h%d", h), pki.RoleAgent))
		for _, p := range nodes {
			agents[h] = append(agents[h], fleetv1connect.NewAgentServiceClient(c, "https://"+p.api))
		}
	}

	hist := &history{start: time.Now()}
	// Rack keys come from a window that slides every second, so that each
	// rack sees several creates at once, from clients on different servers.
	rackKey := func() string {
		n := int(time.Since(hist.start) / time.Second)
		return fmt.Sprintf("k%d", n-rand.IntN(2))
	}
	var (
		stop    atomic.Bool
		wg      sync.WaitGroup
		rackSet sync.Map
	)
	for w := range workers {
		node := w % len(nodes)
		via := nodes[node].id
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := hist.newClient()
			for seq := 1; !stop.Load(); seq++ {
				var in kvInput
				var out kvOutput
				var err error
				record := true // false: the operation says nothing
				call := hist.now()
				switch r := rand.IntN(100); {
				case r < 30:
					h := rand.IntN(hosts)
					in = kvInput{op: kvPut, key: fmt.Sprintf("h%d", h), value: fmt.Sprintf("w%d-%d.test:7400", w, seq)}
					c, cancel := opCtx(10 * time.Second)
					_, err = agents[h][node].Register(c, connect.NewRequest(&fleetv1.RegisterRequest{
						JoinToken: token, HostId: in.key, Rack: "r", Address: in.value}))
					cancel()
					out, record = writeOutcome(hist, describeOp(in)+" through "+via, err)
				case r < 45:
					in = kvInput{op: kvCreate, key: rackKey(), value: strconv.Itoa(w*1_000_000 + seq)}
					rackSet.Store(in.key, true)
					budget, _ := strconv.Atoi(in.value)
					c, cancel := opCtx(10 * time.Second)
					_, err = fleetAPI[node].AddRack(c, connect.NewRequest(&fleetv1.AddRackRequest{
						Id: in.key, Row: "w", PowerBudgetWatts: uint32(budget)}))
					cancel()
					out, record = writeOutcome(hist, describeOp(in)+" through "+via, err)
					if out.exists {
						err = nil
					}
				case r < 80:
					in = kvInput{op: kvGet, key: fmt.Sprintf("h%d", rand.IntN(hosts))}
					var res *connect.Response[fleetv1.GetHostResponse]
					c, cancel := opCtx(5 * time.Second)
					res, err = fleetAPI[node].GetHost(c, connect.NewRequest(&fleetv1.GetHostRequest{Id: in.key}))
					cancel()
					if err == nil {
						out.value = res.Msg.GetHost().GetAddress()
					}
				default:
					in = kvInput{op: kvGet, key: rackKey()}
					var res *connect.Response[fleetv1.GetRackResponse]
					c, cancel := opCtx(5 * time.Second)
					res, err = fleetAPI[node].GetRack(c, connect.NewRequest(&fleetv1.GetRackRequest{Id: in.key}))
					cancel()
					if err == nil {
						out.value = strconv.Itoa(int(res.Msg.GetRack().GetPowerBudgetWatts()))
					}
				}
				if in.op == kvGet {
					if connect.CodeOf(err) == connect.CodeNotFound {
						err, out.value = nil, ""
					}
					record = err == nil
				}
				if record {
					hist.add(client, in, call, out, via)
				} else {
					hist.drop()
				}
				if out.unknown {
					// That write stays open to the end of the history.
					client = hist.newClient()
				}
				if err != nil {
					// The server is down, cut off or electing: do not spin.
					time.Sleep(time.Duration(20+rand.IntN(60)) * time.Millisecond)
				}
			}
		}()
	}
	count := func() int { hist.mu.Lock(); defer hist.mu.Unlock(); return len(hist.ops) }

	// The faults, one at a time, each healed before the next.
	pause := func(d time.Duration) { time.Sleep(d) }
	leaderNow := func() *proc {
		if p := f.leaderWithin(15 * time.Second); p != nil {
			return p
		}
		t.Fatalf("no leader within 15s; servers: %s", f.describeStatus())
		return nil
	}
	pause(3 * time.Second)
	killLeader := func(down time.Duration) {
		victim := leaderNow()
		start := hist.now()
		f.kill9(victim)
		pause(down)
		f.start(victim)
		hist.fault(t, start, fmt.Sprintf("kill -9 the leader %s, restart it after %v", victim.id, down))
	}
	cut := func(victim *proc, role string, d time.Duration) {
		start := hist.now()
		lab.cut(lab.indexOf(victim))
		pause(d)
		lab.heal(lab.indexOf(victim))
		hist.fault(t, start, fmt.Sprintf("cut off the %s %s for %v", role, victim.id, d))
	}
	pause(3 * time.Second)
	for round := range 2 {
		killLeader(2 * time.Second)
		pause(3 * time.Second)
		cut(leaderNow(), "leader", 5*time.Second)
		pause(3 * time.Second)
		l := leaderNow()
		cut(nodes[(indexOfProc(nodes, l)+1+round)%len(nodes)], "follower", 4*time.Second)
		pause(2 * time.Second)
		killLeader(time.Second)
		pause(3 * time.Second)
	}
	// Should the faults have left too few operations, go on without them
	// for a while.
	deadline := time.Now().Add(20 * time.Second)
	for count() < minOps+minOps/5 && time.Now().Before(deadline) {
		pause(200 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()

	// A last read of every key through the leader pins down the writes
	// whose outcome was open.
	f.leader()
	final := hist.newClient()
	var keys []string
	for h := range hosts {
		keys = append(keys, fmt.Sprintf("h%d", h))
	}
	rackSet.Range(func(k, _ any) bool { keys = append(keys, k.(string)); return true })
	sort.Strings(keys)
	values := map[string]string{}
	for _, k := range keys {
		eventually(t, 20*time.Second, func() error {
			call := hist.now()
			var v string
			var err error
			if strings.HasPrefix(k, "h") {
				var res *connect.Response[fleetv1.GetHostResponse]
				res, err = f.fleetAPI(f.leader()).GetHost(ctx(t, 5*time.Second), connect.NewRequest(&fleetv1.GetHostRequest{Id: k}))
				if err == nil {
					v = res.Msg.GetHost().GetAddress()
				}
			} else {
				var res *connect.Response[fleetv1.GetRackResponse]
				res, err = f.fleetAPI(f.leader()).GetRack(ctx(t, 5*time.Second), connect.NewRequest(&fleetv1.GetRackRequest{Id: k}))
				if err == nil {
					v = strconv.Itoa(int(res.Msg.GetRack().GetPowerBudgetWatts()))
				}
			}
			if connect.CodeOf(err) == connect.CodeNotFound {
				err = nil
			}
			if err != nil {
				return err
			}
			values[k] = v
			hist.add(final, kvInput{op: kvGet, key: k}, call, kvOutput{value: v}, "leader")
			return nil
		})
	}
	ops := hist.close()

	var puts, creates, exists, unknown, gets int
	for _, op := range ops {
		in, out := op.Input.(kvInput), op.Output.(kvOutput)
		switch {
		case out.unknown:
			unknown++
		case in.op == kvPut:
			puts++
		case in.op == kvCreate && out.exists:
			exists++
		case in.op == kvCreate:
			creates++
		default:
			gets++
		}
	}
	t.Logf("%d operations on %d keys: %d reads, %d puts and %d creates applied, %d creates refused (key exists), %d writes with an unknown outcome; %d failed reads and unapplied writes left out",
		len(ops), len(keys), gets, puts, creates, exists, unknown, hist.dropped)
	for _, u := range hist.unwanted {
		t.Errorf("unexpected answer: %s", u)
	}
	if len(ops) < minOps {
		t.Fatalf("only %d operations were recorded; the check needs at least %d", len(ops), minOps)
	}

	checkStart := time.Now()
	res, info := porcupine.CheckOperationsVerbose(kvModel, ops, 60*time.Second)
	t.Logf("porcupine: %s in %v", res, time.Since(checkStart).Round(time.Millisecond))
	if res != porcupine.Ok {
		info.AddAnnotations(hist.faults)
		file, err := os.CreateTemp("", "fleetd-linearizability-*.html")
		if err != nil {
			t.Fatal(err)
		}
		file.Close()
		if err := porcupine.VisualizePath(kvModel, info, file.Name()); err != nil {
			t.Errorf("writing the visualization: %v", err)
		}
		if res == porcupine.Illegal {
			t.Fatalf("the history is not linearizable; see %s", file.Name())
		}
		t.Fatalf("porcupine could not decide within 60s (%s); the history is in %s", res, file.Name())
	}

	// Every server ends with the same copy.
	for _, p := range f.up() {
		eventually(t, 20*time.Second, func() error {
			for _, k := range keys {
				var v string
				if strings.HasPrefix(k, "h") {
					res, err := f.fleetAPI(p).GetHost(ctx(t, 5*time.Second), connect.NewRequest(&fleetv1.GetHostRequest{Id: k, Stale: true}))
					if err != nil && connect.CodeOf(err) != connect.CodeNotFound {
						return err
					}
					if err == nil {
						v = res.Msg.GetHost().GetAddress()
					}
				} else {
					res, err := f.fleetAPI(p).GetRack(ctx(t, 5*time.Second), connect.NewRequest(&fleetv1.GetRackRequest{Id: k, Stale: true}))
					if err != nil && connect.CodeOf(err) != connect.CodeNotFound {
						return err
					}
					if err == nil {
						v = strconv.Itoa(int(res.Msg.GetRack().GetPowerBudgetWatts()))
					}
				}
				if v != values[k] {
					return fmt.Errorf("%s's copy has %s = %q, the leader's %q", p.id, k, v, values[k])
				}
			}
			return nil
		})
	}
}

// describeOp names an operation for messages.
func describeOp(in kvInput) string {
	s := kvModel.DescribeOperation(in, kvOutput{})
	return strings.TrimSuffix(s, " -> ok")
}

// opCtx is the deadline of one client operation.
func opCtx(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// notSent reports whether err proves a call never reached a server: the
// connection could not be made (the server is down).
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// indexOfProc returns the index of p in ps.
func indexOfProc(ps []*proc, p *proc) int {
	for i, q := range ps {
		if q == p {
			return i
		}
	}
	return 0
}

// leaderWithin returns the running server that says it is the leader and
// whose API address the others know, or nil if none does within limit. It
// does not fail the test, and it does not wait for every server to agree.
func (f *fleet) leaderWithin(limit time.Duration) *proc {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		for _, p := range f.up() {
			st, err := f.status(p, 2*time.Second)
			if err == nil && st.GetRaftState() == "Leader" && st.GetLeaderApiAddress() != "" {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// describeStatus is every running server's view, for failure messages.
func (f *fleet) describeStatus() string {
	var out []string
	for _, p := range f.up() {
		st, err := f.status(p, 2*time.Second)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", p.id, err))
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s, term %d, leader %q", p.id, st.GetRaftState(), st.GetTerm(), st.GetLeaderId()))
	}
	return strings.Join(out, "; ")
}
