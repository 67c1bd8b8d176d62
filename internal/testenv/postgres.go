package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// PostgresBin is the folder of the PostgreSQL server binaries (Debian's
// postgresql-15 package).
const PostgresBin = "/usr/lib/postgresql/15/bin"

// pgPrefix names the temporary folders of the clusters, so that one left
// behind by a test binary that died can be found and removed.
const pgPrefix = "p2p-pg-"

// PostgresOptions configure a throwaway cluster.
type PostgresOptions struct {
	// SyncCommit makes a commit wait until its WAL has been written to the
	// kernel (fsync stays off: the files survive a crash of PostgreSQL,
	// not of the machine), so that a cluster killed with Kill keeps every
	// commit it acknowledged. Off (the default), commits return before
	// their WAL is written: faster, and enough for every test that does not
	// kill the cluster.
	SyncCommit bool
	// Durable runs the cluster as a production one would: fsync on, full
	// page writes, synchronous commit (implies SyncCommit). For
	// measurements of commit costs.
	Durable bool
}

// PGCluster is a throwaway PostgreSQL cluster: a data folder under /tmp,
// owned by the postgres account when the tests run as root, listening on
// a unix socket only (no TCP port to race for, no clash with a system
// PostgreSQL). Its postmaster is started from a goroutine that holds its
// OS thread for the postmaster's life, with Pdeathsig: if the test binary
// dies, the cluster goes with it.
type PGCluster struct {
	root string // the temporary folder: data/, the socket, postgres.log
	opts PostgresOptions
	cred *syscall.Credential // nil: run as ourselves (not root)

	mu     sync.Mutex
	proc   *os.Process   // the running postmaster, nil when stopped
	exited chan struct{} // closed when proc has exited
	dbs    int           // databases created so far (names t1, t2, ...)
	closed bool
}

// DSN returns the connection string of database db in the cluster.
func (c *PGCluster) DSN(db string) string {
	return fmt.Sprintf("host=%s port=5432 user=postgres dbname=%s sslmode=disable", c.root, db)
}

// PID returns the running postmaster's process id (0 when stopped): its
// CPU time and its backends', for measurements.
func (c *PGCluster) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return 0
	}
	return c.proc.Pid
}

// Socket is the folder holding the cluster's unix socket (the host of its
// connection strings).
func (c *PGCluster) Socket() string { return c.root }

// postgresAvailable returns why no cluster can be made here ("" when one
// can), and the credential to run initdb and postgres with.
func postgresAvailable() (string, *syscall.Credential) {
	for _, b := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(PostgresBin, b)); err != nil {
			return "PostgreSQL 15 not found (" + filepath.Join(PostgresBin, b) + ": install postgresql-15)", nil
		}
	}
	if os.Geteuid() != 0 {
		return "", nil // initdb runs as any account but root
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return "the postgres account does not exist (PostgreSQL refuses to run as root)", nil
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return "the postgres account has no numeric uid/gid", nil
	}
	return "", &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// NewPostgres makes and starts a cluster of the test's own (about a
// second: prefer Postgres, which shares one cluster per test binary, unless
// the test stops the cluster or needs other options). It is removed when t
// ends. Without PostgreSQL or the postgres account, t is skipped loudly
// (failed under CI) through Unavailable.
func NewPostgres(t testing.TB, opts PostgresOptions) *PGCluster {
	t.Helper()
	why, cred := postgresAvailable()
	if why != "" {
		Unavailable(t, why)
	}
	c, err := newCluster(opts, cred)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func newCluster(opts PostgresOptions, cred *syscall.Credential) (*PGCluster, error) {
	removeStaleClusters()
	root, err := os.MkdirTemp("", pgPrefix)
	if err != nil {
		return nil, err
	}
	c := &PGCluster{root: root, opts: opts, cred: cred}
	// The owner file names the test binary, for removeStaleClusters.
	if err := os.WriteFile(filepath.Join(root, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(root, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(root)
			return nil, err
		}
	}
	initdb := exec.Command(filepath.Join(PostgresBin, "initdb"), "-D", filepath.Join(root, "data"),
		"--no-sync", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-instructions")
	initdb.Dir = root
	initdb.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(root)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if err := c.Start(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Start starts the postmaster (again, after Stop or Kill) and waits until
// it accepts connections.
func (c *PGCluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("testenv: the cluster is closed")
	}
	if c.proc != nil {
		return nil
	}
	args := []string{"-D", filepath.Join(c.root, "data"), "-k", c.root, "-c", "listen_addresses=",
		"-c", "max_connections=200", "-c", "shared_buffers=16MB", "-c", "max_wal_size=256MB"}
	switch {
	case c.opts.Durable:
		args = append(args, "-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on")
	case c.opts.SyncCommit:
		args = append(args, "-F", "-c", "synchronous_commit=on", "-c", "full_page_writes=off")
	default:
		args = append(args, "-F", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	logf, err := os.OpenFile(filepath.Join(c.root, "postgres.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		// Pdeathsig follows the thread that forked: hold it until the
		// postmaster is gone.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(exited)
		defer logf.Close()
		cmd := exec.Command(filepath.Join(PostgresBin, "postgres"), args...)
		cmd.Dir = c.root
		cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		c.proc = cmd.Process // under c.mu, which Start holds until started
		started <- nil
		cmd.Wait()
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("starting postgres: %v", err)
	}
	c.exited = exited
	// Wait until it accepts connections.
	died := false
	if !Poll(30*time.Second, func() bool {
		select {
		case <-exited:
			died = true
			return true
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn, cerr := pgconn.Connect(ctx, c.DSN("postgres"))
		if err = cerr; err != nil {
			return false
		}
		conn.Close(context.Background())
		return true
	}) {
		c.stopLocked(syscall.SIGQUIT)
		return fmt.Errorf("postgres did not accept connections within 30s: %v\n%s", err, c.logTail())
	}
	if died {
		c.proc = nil
		return fmt.Errorf("postgres exited at start:\n%s", c.logTail())
	}
	return nil
}

// logTail returns the end of the server's log, for error messages.
func (c *PGCluster) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.root, "postgres.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Stop shuts the cluster down cleanly (fast shutdown: sessions are ended,
// a checkpoint is written) and waits until it is gone.
func (c *PGCluster) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopLocked(syscall.SIGINT)
}

// Kill stops the cluster as a crash would (immediate shutdown: no
// checkpoint; the next Start recovers from the WAL) and waits until it is
// gone.
func (c *PGCluster) Kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopLocked(syscall.SIGQUIT)
}

func (c *PGCluster) stopLocked(sig syscall.Signal) {
	if c.proc == nil {
		return
	}
	c.proc.Signal(sig)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		syscall.Kill(-c.proc.Pid, syscall.SIGKILL)
		<-c.exited
	}
	c.proc = nil
}

// Close stops the cluster (immediate shutdown) and removes its folder.
func (c *PGCluster) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopLocked(syscall.SIGQUIT)
	if !c.closed {
		c.closed = true
		os.RemoveAll(c.root)
	}
}

// CreateDatabase creates a new, empty database and returns its connection
// string. The database is dropped when t ends (if the cluster runs then).
func (c *PGCluster) CreateDatabase(t testing.TB) string {
	t.Helper()
	c.mu.Lock()
	c.dbs++
	name := "t" + strconv.Itoa(c.dbs)
	c.mu.Unlock()
	if err := c.exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { c.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	return c.DSN(name)
}

// exec runs one statement in the cluster's postgres database.
func (c *PGCluster) exec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql).ReadAll()
	return err
}

// The cluster shared by the tests of one binary, started on first use.
var shared struct {
	mu      sync.Mutex
	c       *PGCluster
	why     string // why there is none ("" when there is, or not tried)
	err     error
	stopped bool
}

// Postgres returns the connection string of a new, empty database of the
// cluster this test binary shares (started on first use: about a second;
// a database takes a few tens of milliseconds). Without PostgreSQL or the
// postgres account, t is skipped loudly (failed under CI) through
// Unavailable. A test binary that uses it runs its tests through Main,
// which stops the cluster once they have run; without that, the
// postmaster still ends with the binary (Pdeathsig) and the next binary
// removes its folder.
func Postgres(t testing.TB) string {
	t.Helper()
	shared.mu.Lock()
	if shared.c == nil && shared.why == "" && shared.err == nil {
		why, cred := postgresAvailable()
		if why != "" {
			shared.why = why
		} else {
			shared.c, shared.err = newCluster(PostgresOptions{}, cred)
		}
	}
	c, why, err := shared.c, shared.why, shared.err
	shared.mu.Unlock()
	switch {
	case why != "":
		Unavailable(t, why)
	case err != nil:
		t.Fatalf("testenv: starting PostgreSQL: %v", err)
	}
	return c.CreateDatabase(t)
}

// stopPostgres stops and removes the cluster Postgres started, if any;
// Main calls it after the tests.
func stopPostgres() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.c != nil {
		shared.c.Close()
		shared.c = nil
	}
}

// removeStaleClusters removes the folders of clusters whose test binary
// and postmaster are both gone (a binary killed before its cleanup).
func removeStaleClusters() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), pgPrefix+"*"))
	for _, d := range dirs {
		if alive(filepath.Join(d, "owner")) || alive(filepath.Join(d, "data", "postmaster.pid")) {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "owner")); err != nil {
			continue // not one of ours, or being made right now
		}
		os.RemoveAll(d)
	}
}

// alive reports whether the file's first line is the pid of a running
// process.
func alive(pidFile string) bool {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return false
	}
	err = syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
