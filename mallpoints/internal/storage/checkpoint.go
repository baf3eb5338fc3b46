package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync"
	"time"
)

// SQLite in WAL mode appends every commit to the write-ahead log and copies
// the log back into the database file at a checkpoint. Left to itself it
// checkpoints on the connection that commits, right after the commit, when
// the log has passed wal_autocheckpoint pages: with the service's single
// connection, every notification, job fetch and attempt record then waits
// for the copy and its fsync (answers at half the maximum rate had a p99 of
// 65 ms; checkpoints ten times smaller gave 39 ms, for more CPU per payment).
// Instead a connection of its own checkpoints every checkpointEvery, while
// the service's connection goes on writing; SQLite lets one checkpointer
// run beside the writer. The writer's own autocheckpoint stays on, at
// safetyCheckpointPages: under steady writes it is what lets the log start
// over from its beginning (SQLite restarts the log only when a writer finds
// it wholly copied back), and it finds little left to copy, so its pause is
// short; it also keeps the log bounded if this checkpointer fails.
const (
	checkpointEvery       = time.Second
	safetyCheckpointPages = 20000 // about 80 MB of log
)

// checkpointer runs PRAGMA wal_checkpoint(PASSIVE) on its own connection:
// it copies what it can without waiting for, or blocking, the writer.
type checkpointer struct {
	db       *sql.DB
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	mu      sync.Mutex
	runs    int   // checkpoints tried
	failed  int   // of which failed
	lastErr error // of the last checkpoint; nil once one succeeds again
}

// Checkpoints counts the background checkpoints of a SQLite database's log
// since it was opened: those tried and those that failed. A failure loses
// nothing (the frames wait in the log) but says the disk or the file is in
// trouble, and the log grows until the writer's safety net runs.
type Checkpoints struct {
	Tried, Failed int64
}

func startCheckpointer(c driver.Connector, every time.Duration) *checkpointer {
	cp := &checkpointer{db: sql.OpenDB(c), stop: make(chan struct{})}
	cp.db.SetMaxOpenConns(1)
	cp.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-cp.stop:
				return
			case <-t.C:
			}
			// A failed checkpoint loses nothing: the frames stay in the
			// log for the next one, or for the writer's safety net.
			ctx, cancel := context.WithTimeout(context.Background(), every*10)
			_, err := cp.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
			cancel()
			cp.mu.Lock()
			cp.runs++
			if err != nil {
				cp.failed++
			}
			cp.lastErr = err
			cp.mu.Unlock()
		}
	})
	return cp
}

// status is how many checkpoints ran and the last one's error.
func (cp *checkpointer) status() (int, error) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.runs, cp.lastErr
}

// counts is what State reports of the checkpoints.
func (cp *checkpointer) counts() *Checkpoints {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return &Checkpoints{Tried: int64(cp.runs), Failed: int64(cp.failed)}
}

// close stops the checkpoints and closes their connection; closing again
// does nothing more.
func (cp *checkpointer) close() error {
	cp.stopOnce.Do(func() { close(cp.stop) })
	cp.wg.Wait()
	return cp.db.Close()
}
