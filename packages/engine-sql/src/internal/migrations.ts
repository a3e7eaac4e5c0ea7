/**
 * The engine's schema, as numbered migrations run by Effect's SQL Migrator (`effect/sql/Migrator`) into
 * its own `weft_migrations` table. Times are epoch milliseconds; encoded values are JSON text.
 */
import * as Effect from "effect/Effect"
import * as Migrator from "effect/sql/Migrator"
import * as SqlClient from "effect/sql/SqlClient"

const createTables = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const serial = sql.onDialectOrElse({ pg: () => "BIGSERIAL PRIMARY KEY", orElse: () => "INTEGER PRIMARY KEY AUTOINCREMENT" })
  yield* sql`CREATE TABLE weft_executions (
    execution_id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT,
    parent_execution_id TEXT,
    parent_deferred TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    wake_seq BIGINT NOT NULL DEFAULT 0,
    interrupt_requested INTEGER NOT NULL DEFAULT 0,
    wake_at BIGINT,
    owner TEXT,
    fence BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT NOT NULL DEFAULT 0
  )`
  yield* sql`CREATE INDEX weft_executions_status ON weft_executions (status, wake_at)`
  yield* sql`CREATE INDEX weft_executions_created ON weft_executions (created_at, execution_id)`
  yield* sql`CREATE INDEX weft_executions_workflow ON weft_executions (workflow, created_at)`
  // PostgreSQL has no rowid: a sequence keeps the journal in the order it was written.
  const seq = sql.onDialectOrElse({ pg: () => "seq BIGSERIAL,", orElse: () => "" })
  yield* sql.unsafe(`CREATE TABLE weft_attempts (
    ${seq}
    execution_id TEXT NOT NULL,
    name TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    exit TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    completed_at BIGINT NOT NULL,
    PRIMARY KEY (execution_id, name, attempt)
  )`)
  yield* sql`CREATE TABLE weft_deferreds (
    execution_id TEXT NOT NULL,
    name TEXT NOT NULL,
    exit TEXT NOT NULL,
    completed_at BIGINT NOT NULL,
    PRIMARY KEY (execution_id, name)
  )`
  yield* sql`CREATE TABLE weft_clocks (
    execution_id TEXT NOT NULL,
    name TEXT NOT NULL,
    wake_at BIGINT NOT NULL,
    PRIMARY KEY (execution_id, name)
  )`
  yield* sql.unsafe(`CREATE TABLE weft_events (
    id ${serial},
    execution_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    detail TEXT
  )`)
  yield* sql`CREATE INDEX weft_events_execution ON weft_events (execution_id, id)`
  yield* sql`CREATE TABLE weft_queue (
    queue TEXT NOT NULL,
    item_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    token TEXT NOT NULL,
    enqueued_at BIGINT NOT NULL,
    owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, item_id)
  )`
  yield* sql`CREATE INDEX weft_queue_ready ON weft_queue (queue, lease_until, enqueued_at)`
  yield* sql`CREATE TABLE weft_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`
})

// Whether another process waits on an execution's result: only then does its completion NOTIFY.
const addWatched = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE weft_executions ADD COLUMN watched INTEGER NOT NULL DEFAULT 0`
})

// A parent that ends finds its live children in one read.
const indexParents = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX weft_executions_parent ON weft_executions (parent_execution_id) WHERE parent_execution_id IS NOT NULL`
})

/**
 * Recoveries in the trace, with no write of their own: the activity attempts a claim's run had in flight at its last
 * heartbeat (`in_flight`, JSON, written by `renew`), when the claim was taken (`claimed_at`, the caller's clock,
 * written by the claim), and when each clock was set (`set_at`, written by `recordClock`). Older rows stay null.
 * On SQLite a trigger logs a takeover in the claim's own statement (PostgreSQL's claim statements log it in a CTE):
 * an UPDATE that gives a row a new owner and a new fence while another owner held it is a claim of a lapsed lease.
 */
const addRecoveries = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE weft_executions ADD COLUMN in_flight TEXT`
  yield* sql`ALTER TABLE weft_executions ADD COLUMN claimed_at BIGINT`
  yield* sql`ALTER TABLE weft_clocks ADD COLUMN set_at BIGINT`
  yield* sql.onDialectOrElse({
    pg: () => Effect.void,
    orElse: () =>
      sql.unsafe(`CREATE TRIGGER weft_taken_over AFTER UPDATE OF owner ON weft_executions
        WHEN OLD.owner IS NOT NULL AND NEW.owner IS NOT NULL AND NEW.owner <> OLD.owner AND NEW.fence > OLD.fence
        BEGIN
          INSERT INTO weft_events (execution_id, kind, at, detail) VALUES (NEW.execution_id, 'taken-over',
            coalesce(NEW.claimed_at, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
            '{"from":' || json_quote(OLD.owner) || ',"to":' || json_quote(NEW.owner) || ',"leaseEndedAt":' ||
              OLD.lease_until || ',"inFlight":' || coalesce(OLD.in_flight, 'null') || '}');
        END`)
  })
})

// The idempotency key an execution was started with, for `list`'s key-prefix filter. Older rows stay null.
const addIdempotencyKeys = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE weft_executions ADD COLUMN idempotency_key TEXT`
})

// Durable schedules (`WorkflowSchedule`): one row per schedule, written whole under a revision (compare-and-set).
const addSchedules = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE weft_schedules (
    schedule_id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    payload TEXT NOT NULL,
    spec TEXT NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    next_fire_at BIGINT,
    due_at BIGINT,
    last_fire_at BIGINT,
    last_execution_id TEXT,
    buffered_at BIGINT,
    revision BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  )`
  yield* sql`CREATE INDEX weft_schedules_due ON weft_schedules (due_at)`
})

// The workflow version each execution started on (`Workflow.make({ version })`): rows from before are version 1.
const addVersions = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE weft_executions ADD COLUMN version INTEGER NOT NULL DEFAULT 1`
})

/**
 * Runs the pending migrations; several processes starting at once are serialized by the Migrator's lock.
 * Effect 3 and 4's Migrators keep the same table (`migration_id`, `created_at`, `name`; names without their
 * number), so a database migrated by either is read as it is. A migration that fails is a defect, as it was
 * in Effect 3: running the same statement again would not mend it.
 */
export const run = Migrator.make({})({
  loader: Migrator.fromRecord({
    "0001_create_tables": createTables,
    "0002_add_watched": addWatched,
    "0003_index_parents": indexParents,
    "0004_add_recoveries": addRecoveries,
    "0005_add_idempotency_keys": addIdempotencyKeys,
    "0006_add_schedules": addSchedules,
    "0007_add_versions": addVersions
  }),
  table: "weft_migrations"
}).pipe(Effect.catchIf((error) => error._tag === "MigrationError" && error.kind === "Failed", Effect.die))
