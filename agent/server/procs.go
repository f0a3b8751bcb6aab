package server

// Procs is how many Go processors (GOMAXPROCS) an agent should run with on
// a machine where the runtime's default is cpus: twice as many.
//
// The agent's drive I/O is blocking system calls (O_DIRECT writes and
// reads, fdatasync) that each take from a hundred microseconds to several
// milliseconds. A goroutine in such a call keeps its processor until the
// runtime's monitor hands it to another thread, and with one processor per
// CPU the goroutines serving the network wait meanwhile, runnable or not
// yet polled. Measured with BenchmarkAPI (16 clients putting 1 MiB blobs on
// a 2-CPU machine): with 2 processors a request waited 12.7 ms on average
// between the client sending it and its handler starting, and its answer
// about as long again; with 4 they waited 3.4 and 2 ms, and the API moved
// 25-40% more bytes per second. More than twice brought nothing more.
// Extra processors cost little: an idle one takes no CPU.
//
// The agent's main applies it unless GOMAXPROCS is set in the environment;
// BenchmarkAPI applies it too, so that it measures the agent as it runs.
func Procs(cpus int) int { return 2 * max(cpus, 1) }
