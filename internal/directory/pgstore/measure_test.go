package pgstore

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"p2p/internal/testenv"
)

// unorderedConnect is p2p.connect numbered by a sequence instead of the
// clock row: no queue, but numbers are not in commit order. Only for the
// measurement below.
const unorderedConnect = `
CREATE SEQUENCE p2p.conn_seq;
CREATE OR REPLACE FUNCTION p2p.connect(u bytea, u_ip bytea, u_port bytea) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
	IF NOT p2p.lock_user(u) THEN RETURN 0; END IF;
	PERFORM FROM p2p.conns WHERE name = u;
	IF FOUND THEN RETURN 3; END IF;
	INSERT INTO p2p.conns (name, seq, ip, port) VALUES (u, nextval('p2p.conn_seq'), u_ip, u_port);
	RETURN 1;
END $$;`

// TestMeasureConnectOrder measures what numbering connections in commit
// order costs: CONNECT latency and throughput with the clock row (the
// store's choice) against a sequence, on a durable cluster (fsync on),
// with 1, 4 and 16 clients spread over 4 servers; and counts, for the
// sequence, the LIST_USERS answers that reordered what the reader had
// seen. Run it with P2P_PG_MEASURE=1 (the figures are in docs/postgres.md).
func TestMeasureConnectOrder(t *testing.T) {
	if os.Getenv("P2P_PG_MEASURE") == "" {
		t.Skip("set P2P_PG_MEASURE=1 to measure")
	}
	pg := testenv.NewPostgres(t, testenv.PostgresOptions{Durable: true})
	for _, variant := range []string{"clock", "sequence"} {
		for _, clients := range []int{1, 4, 16} {
			dsn := pg.CreateDatabase(t)
			ss := make([]*Store, 4)
			for i := range ss {
				ss[i] = openStore(t, dsn, Options{MaxConns: 8})
			}
			if variant == "sequence" {
				if _, err := ss[0].pool.Exec(bg, unorderedConnect); err != nil {
					t.Fatal(err)
				}
			}
			const perClient = 100
			n := clients * perClient
			ss[0].Register(bg, "reader")
			ss[0].Connect(bg, "reader", "1.1.1.1", "1")
			// Registered in one transaction: only CONNECT is timed.
			names := make([][]byte, n)
			for i := range names {
				names[i] = []byte(fmt.Sprint("u", i))
			}
			if _, err := ss[0].pool.Exec(bg, "INSERT INTO p2p.users SELECT unnest($1::bytea[])", names); err != nil {
				t.Fatal(err)
			}
			lat := make([]time.Duration, n)
			var wg sync.WaitGroup
			start := time.Now()
			for c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := ss[c%len(ss)]
					for k := range perClient {
						i := c*perClient + k
						t0 := time.Now()
						if f, err := s.Connect(context.Background(), string(names[i]), "1.1.1.1", "2"); err != nil || f.Connected {
							t.Errorf("connect: %v", err)
						}
						lat[i] = time.Since(t0)
					}
				}()
			}
			reorders, reads := 0, 0
			var last []string
			finished := waitDone(&wg)
			for done := false; !done; {
				select {
				case <-finished:
					done = true
				default:
				}
				_, recs, err := ss[1].ListUsers(bg, "reader")
				if err != nil {
					t.Fatal(err)
				}
				cur := make([]string, len(recs))
				for i, r := range recs {
					cur[i] = r.Username
				}
				if len(cur) < len(last) || strings.Join(cur[:len(last)], ",") != strings.Join(last, ",") {
					reorders++
				}
				last = cur
				reads++
			}
			elapsed := time.Since(start)
			slices.Sort(lat)
			t.Logf("%-8s %2d clients: CONNECT p50 %6.2fms p99 %6.2fms, %5.0f/s; reader: %d of %d answers reordered what it had seen",
				variant, clients, ms(lat[n/2]), ms(lat[n*99/100]), float64(n)/elapsed.Seconds(), reorders, reads)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// waitDone returns a channel closed once wg is done.
func waitDone(wg *sync.WaitGroup) <-chan struct{} {
	c := make(chan struct{})
	go func() { wg.Wait(); close(c) }()
	return c
}
