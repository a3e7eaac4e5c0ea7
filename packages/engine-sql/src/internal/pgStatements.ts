/**
 * The PostgreSQL statements of the hot path, as fixed text with numbered parameters: the driver prepares
 * each once per connection. Batches pass arrays and `unnest` them, so one text serves any batch size.
 */
import { StoreRules } from "@weft/workflow"
import type { Prepared } from "../PgDriver.js"
import { admits, assignments, eventKind, LIVE, literal, notice, T, TERMINAL } from "./sqlRules.js"

/**
 * The session settings of the connections that run these statements. Each is planned once per connection
 * (a generic plan: planning a custom plan per execution cost about a third of the database's time), and
 * every one is a keyed look-up, so its plan is pinned to index scans and nested loops: a plan made while
 * the tables were small must not go on scanning them as they grow. `StatementPlans.test.ts` checks it.
 */
export const STATEMENT_SESSION =
  "-c plan_cache_mode=force_generic_plan -c enable_seqscan=off -c enable_hashjoin=off -c enable_mergejoin=off"

/** Every statement here, for the plan check. */
export const all: Array<Prepared> = []

const statement = (name: string, text: string): Prepared => {
  const prepared = { name: `weft_${name}`, text }
  all.push(prepared)
  return prepared
}

/** A batch's parameters: the single statement's parameters of each item, one array per position. */
export const columns = <A>(items: ReadonlyArray<A>, params: (item: A) => ReadonlyArray<unknown>): Array<Array<unknown>> => {
  const rows = items.map(params)
  return (rows[0] ?? []).map((_, i) => rows.map((row) => row[i]))
}

/**
 * `columns` with column `json` (JSON texts) joined by U+001E into one text, for `string_to_array` to split.
 * A lone empty text splits into no element: only payloads can be empty (undefined), and `createClaimed` says so.
 */
export const joined = (columns: Array<Array<unknown>>, json: number): Array<unknown> =>
  columns.map((column, i) => (i === json ? column.join("\x1e") : column))

/**
 * The execution columns the store reads, named rather than `*`: a prepared statement whose result
 * columns change under it (a later migration adding one) fails on every connection that prepared it.
 */
const EXECUTION = `execution_id, workflow, payload, status, result, parent_execution_id, parent_deferred, created_at,
  updated_at, wake_seq, interrupt_requested, wake_at, fence, idempotency_key, version`

const ATTEMPT = "name, attempt, exit, started_at, completed_at"

/**
 * A claim's row `c` as the engine reads it: its wake sequence as of the statement's snapshot, the one its journal
 * is read from. A signal that commits while the claim waits for the row's lock moves the row's `wake_seq`, which
 * the UPDATE then returns, but its deferred is not in the snapshot the journal subqueries read: with the newer
 * sequence, a run that waits on that deferred would suspend for good; with this one, its suspension fails and it
 * runs again.
 */
const CLAIMED = `${EXECUTION.split(",")
  .map((column) => column.trim())
  .map((column) =>
    column === "wake_seq"
      ? "coalesce((SELECT s.wake_seq FROM weft_executions s WHERE s.execution_id = c.execution_id), c.wake_seq) AS wake_seq"
      : `c.${column}`
  )
  .join(", ")}`

/** The fencing condition of a write of execution $1 under fence `fence`. */
const fenced = (fence: string) =>
  `EXISTS (SELECT 1 FROM weft_executions WHERE execution_id = $1 AND fence = ${fence} AND owner IS NOT NULL)`

/** The journal of the execution row `c`, as three JSON arrays. */
export const journalColumns = `
  (SELECT coalesce(json_agg(json_build_array(a.name, a.attempt, a.exit, a.started_at, a.completed_at) ORDER BY a.seq), '[]'::json)
     FROM weft_attempts a WHERE a.execution_id = c.execution_id) AS attempts,
  (SELECT coalesce(json_agg(json_build_array(d.name, d.exit, d.completed_at)), '[]'::json)
     FROM weft_deferreds d WHERE d.execution_id = c.execution_id) AS deferreds,
  (SELECT coalesce(json_agg(json_build_array(k.name, k.wake_at, k.set_at)), '[]'::json)
     FROM weft_clocks k WHERE k.execution_id = c.execution_id) AS clocks`

/**
 * The lease clock's time in milliseconds: parameter `param` when the caller gives it, else (null) the database's
 * clock at the start of the statement, so a statement that waited in a pool's queue still gets a whole lease and
 * the workers' clocks need not agree.
 */
export const leaseNow = (param: string) =>
  `coalesce(${param}::bigint, floor(extract(epoch FROM statement_timestamp()) * 1000)::bigint)`

/**
 * A create's lease end, parameter `param`: the end itself (the caller's clock), or when negative the database's
 * clock at the statement plus its absolute value (the lease's length).
 */
export const leaseUntil = (param: string) =>
  `CASE WHEN ${param}::bigint < 0 THEN ${leaseNow("NULL")} - ${param}::bigint ELSE ${param}::bigint END`

/** $1 execution, $2 name, $3 attempt, $4 exit, $5 started, $6 completed, $7 fence. */
export const recordAttempt = statement(
  "record_attempt",
  `INSERT INTO weft_attempts (execution_id, name, attempt, exit, started_at, completed_at)
   SELECT $1::text, $2::text, $3::int, $4::text, $5::bigint, $6::bigint WHERE ${fenced("$7::bigint")}
   ON CONFLICT DO NOTHING RETURNING attempt`
)

/**
 * The same as arrays, one element per attempt, but the exits (JSON text, which never holds a raw control
 * character) joined by U+001E in one text: arrays of JSON cost the driver an escape of every quote. Returns
 * how many rows it wrote (each row fenced on its own) and, only when that falls short, the keys it wrote.
 */
export const recordAttempts = statement(
  "record_attempts",
  `WITH written AS (
     INSERT INTO weft_attempts (execution_id, name, attempt, exit, started_at, completed_at)
     SELECT v.execution_id, v.name, v.attempt, v.exit, v.started_at, v.completed_at
     FROM unnest($1::text[], $2::text[], $3::int[], string_to_array($4::text, E'\\x1e'), $5::bigint[], $6::bigint[], $7::bigint[])
       AS v(execution_id, name, attempt, exit, started_at, completed_at, fence)
     JOIN weft_executions e ON e.execution_id = v.execution_id AND e.fence = v.fence AND e.owner IS NOT NULL
     -- In key order: two batches that meet on a key (a takeover) wait for each other in one order, never in a cycle.
     ORDER BY v.execution_id, v.name, v.attempt
     ON CONFLICT DO NOTHING RETURNING execution_id, name, attempt)
   SELECT count(*)::int AS written, CASE WHEN count(*) < cardinality($1::text[])
     THEN json_agg(json_build_array(execution_id, name, attempt)) END AS keys
   FROM written`
)

/** $1 execution, $2 name, $3 attempt, $4 fence: the stored attempt and whether the fence still holds. */
export const existingAttempt = statement(
  "existing_attempt",
  `SELECT ${ATTEMPT}, (${fenced("$4::bigint")})::int AS held FROM weft_attempts a
   WHERE execution_id = $1 AND name = $2 AND attempt = $3`
)

/**
 * $1 execution, $2 workflow, $3 payload, $4 parent, $5 parent deferred, $6 at, $7 owner (claimed) or null,
 * $8 lease until (`leaseUntil`), $9 watched, $10 notice ('' for none), $11 idempotency key, $12 version, $13 to $15 the names, wake times and set times of the clocks stored with it. Inserts unless it exists, logs `started`, announces.
 */
export const create = statement(
  "create",
  `WITH changed AS (
     INSERT INTO weft_executions (execution_id, workflow, payload, status, parent_execution_id, parent_deferred,
       created_at, updated_at, owner, fence, lease_until, watched, idempotency_key, version)
     VALUES ($1, $2, $3, ${literal(T.create.to)}, $4, $5, $6, $6, $7::text, CASE WHEN $7::text IS NULL THEN 0 ELSE 1 END,
       ${leaseUntil("$8")}, $9, $11::text, $12::int)
     ON CONFLICT (execution_id) DO NOTHING RETURNING ${EXECUTION}),
   logged AS (INSERT INTO weft_events (execution_id, kind, at) SELECT execution_id, ${eventKind(T.create)}, $6::bigint FROM changed),
   clocked AS (
     INSERT INTO weft_clocks (execution_id, name, wake_at, set_at)
     SELECT changed.execution_id, t.name, t.wake_at, t.set_at FROM changed, unnest($13::text[], $14::bigint[], $15::bigint[])
       AS t(name, wake_at, set_at)),
   announced AS (SELECT pg_notify('weft', $10::text) FROM changed WHERE $10::text <> '')
   SELECT changed.*, (SELECT count(*) FROM announced) AS announced FROM changed`
)

/**
 * $1 execution: marks a live execution watched and returns it as it is once any write in flight on it
 * commits (an UPDATE waits for the row; a plain read might see it still running). None if terminal or
 * watched already (a completion then announces itself, whatever a plain read sees).
 */
export const watch = statement(
  "watch",
  `UPDATE weft_executions SET watched = 1
   WHERE execution_id = $1 AND watched = 0 AND ${LIVE}
   RETURNING ${EXECUTION}`
)

/** $1 execution. */
export const get = statement("get", `SELECT ${EXECUTION} FROM weft_executions WHERE execution_id = $1`)

/** $1 execution ids: those that have ended. */
export const ended = statement(
  "ended",
  `SELECT ${EXECUTION} FROM weft_executions
   WHERE execution_id = ANY($1::text[]) AND ${TERMINAL}`
)

/** $1 parent execution: its linked children that have not ended. */
export const liveChildren = statement(
  "live_children",
  `SELECT ${EXECUTION} FROM weft_executions
   WHERE parent_execution_id = $1::text AND ${LIVE}`
)

/**
 * The detail of the `taken-over` event of a claim by `owner` of the row `p` as it was before
 * (`StoreRules.takeoverDetail`: JSON, its keys in that order).
 */
const takeoverDetail = (p: string, owner: string) =>
  `'{"from":' || to_json(${p}.owner)::text || ',"to":' || to_json(${owner})::text
    || ',"leaseEndedAt":' || ${p}.lease_until || ',"inFlight":' || coalesce(${p}.in_flight, 'null') || '}'`

/**
 * A claim's version filter: the row's (workflow, version) is one of the pairs the arrays `w` (workflows) and `v`
 * (versions) list side by side; null arrays: any version.
 */
const RUNS_VERSION = (w: string, v: string) =>
  `(${w}::text[] IS NULL OR (workflow, version) IN (SELECT * FROM unnest(${w}::text[], ${v}::int[])))`

/**
 * $1 execution, $2 owner, $3 now (null: the database's clock), $4 lease ms, $5 the caller's now (the claim's time),
 * $6 and $7 the (workflow, version) pairs it may take (`RUNS_VERSION`): claims a running execution and loads its journal. Taken from another owner whose lease lapsed, it logs
 * `taken-over`, naming that owner as the statement's snapshot holds it (as `CLAIMED` reads `wake_seq`: the UPDATE's
 * own row already names the new owner) and what its run had in flight.
 */
export const claim = statement(
  "claim",
  `WITH c AS (
     UPDATE weft_executions SET owner = $2, fence = fence + 1, lease_until = ${leaseNow("$3")} + $4::bigint,
       claimed_at = $5::bigint, in_flight = NULL
     WHERE execution_id = $1 AND ${admits(T.claim)} AND (owner IS NULL OR owner = $2 OR lease_until <= ${leaseNow("$3")})
       AND ${RUNS_VERSION("$6", "$7")}
     RETURNING ${EXECUTION}),
   taken AS (
     INSERT INTO weft_events (execution_id, kind, at, detail)
     SELECT c.execution_id, ${literal(StoreRules.takeoverKind)}, $5::bigint, ${takeoverDetail("s", "$2::text")}
     FROM c JOIN weft_executions s ON s.execution_id = c.execution_id
     WHERE s.owner IS NOT NULL AND s.owner <> $2::text AND s.lease_until <= ${leaseNow("$3")})
   SELECT ${CLAIMED}, ${journalColumns} FROM c`
)

/**
 * $1 owner, $2 now (null: the database's clock), $3 limit, $4 workflows, $5 lease ms, $6 the caller's now, $7 and $8
 * the (workflow, version) pairs it may take (`RUNS_VERSION`): claims up to $3 running executions of $4 that nobody holds, oldest update first, and loads their journals. Rows another
 * claimer has locked are skipped, not waited for: two workers claiming at once take disjoint sets. A row taken from
 * another owner (its lease lapsed) logs `taken-over`, from the row as it was locked.
 */
export const claimRunnable = statement(
  "claim_runnable",
  `WITH picked AS (
     SELECT execution_id, owner, lease_until, in_flight FROM weft_executions
     WHERE ${admits(T.claim)} AND workflow = ANY($4::text[]) AND (owner IS NULL OR lease_until <= ${leaseNow("$2")})
       AND ${RUNS_VERSION("$7", "$8")}
     ORDER BY updated_at LIMIT $3::int
     FOR NO KEY UPDATE SKIP LOCKED),
   c AS (
     UPDATE weft_executions SET owner = $1::text, fence = fence + 1, lease_until = ${leaseNow("$2")} + $5::bigint,
       claimed_at = $6::bigint, in_flight = NULL
     WHERE execution_id IN (SELECT execution_id FROM picked)
     RETURNING ${EXECUTION}),
   taken AS (
     INSERT INTO weft_events (execution_id, kind, at, detail)
     SELECT p.execution_id, ${literal(StoreRules.takeoverKind)}, $6::bigint, ${takeoverDetail("p", "$1::text")}
     FROM picked p JOIN c ON c.execution_id = p.execution_id
     WHERE p.owner IS NOT NULL AND p.owner <> $1::text)
   SELECT ${CLAIMED}, ${journalColumns} FROM c`
)

/** $1 execution, $2 fence, $3 status, $4 result, $5 at, $6 event kind: completes, logs, and NOTIFYs only watchers. */
export const complete = statement(
  "complete",
  `WITH changed AS (
     UPDATE weft_executions SET status = $3, result = $4, ${assignments(T.complete)}, updated_at = $5
     WHERE execution_id = $1 AND fence = $2 AND owner IS NOT NULL RETURNING execution_id, watched),
   logged AS (INSERT INTO weft_events (execution_id, kind, at) SELECT execution_id, $6::text, $5::bigint FROM changed),
   announced AS (SELECT pg_notify('weft', '${notice(T.complete)}:' || execution_id || ':') FROM changed WHERE watched = 1)
   SELECT execution_id, (SELECT count(*) FROM announced) AS announced FROM changed`
)

/**
 * $1 execution, $2 fence, $3 expected wakeSeq, $4 wake at, $5 at, $6 awaited here (0 or 1): suspends unless
 * woken meanwhile, logs it. A waiter in this process learns of the end by NOTIFY once another worker may run it.
 */
export const suspend = statement(
  "suspend",
  `WITH changed AS (
     UPDATE weft_executions SET ${assignments(T.suspend)}, wake_at = $4, updated_at = $5,
       watched = greatest(watched, $6::int)
     WHERE execution_id = $1 AND fence = $2 AND owner IS NOT NULL AND wake_seq = $3 RETURNING execution_id),
   logged AS (INSERT INTO weft_events (execution_id, kind, at) SELECT execution_id, ${eventKind(T.suspend)}, $5::bigint FROM changed)
   SELECT execution_id FROM changed`
)

/** $1 execution, $2 fence: gives the claim up (a run that stopped on a failed write releases it on the engine's pool). */
export const release = statement(
  "release",
  `UPDATE weft_executions SET owner = NULL WHERE execution_id = $1::text AND fence = $2::bigint`
)

/** $1 execution, $2 fence: whether the claim holds (explains a fenced write that changed nothing). */
export const holds = statement(
  "holds",
  `SELECT 1 AS ok FROM weft_executions WHERE execution_id = $1 AND fence = $2 AND owner IS NOT NULL`
)

/**
 * $1 owner, $2 execution ids, $3 their fences, $4 now (null: the database's clock), $5 lease ms, $6 what each
 * claim's run has in flight (JSON, `StoreRules.inFlightText`; '': unknown): one worker's heartbeat, extending only
 * the rows that still hold the given (execution, fence) claim and keeping their in-flight attempts, locking them in
 * id order (no deadlocks).
 */
export const renew = statement(
  "renew",
  `UPDATE weft_executions e SET lease_until = ${leaseNow("$4")} + $5::bigint, in_flight = nullif(l.in_flight, '')
   FROM (
     SELECT x.execution_id, c.in_flight FROM weft_executions x
     JOIN unnest($2::text[], $3::bigint[], $6::text[]) AS c(execution_id, fence, in_flight)
       ON x.execution_id = c.execution_id AND x.fence = c.fence
     WHERE x.owner = $1
     ORDER BY x.execution_id FOR NO KEY UPDATE OF x) l
   WHERE e.execution_id = l.execution_id AND e.owner = $1
   RETURNING e.execution_id, e.fence, e.interrupt_requested`
)

/**
 * New executions claimed by their creator, as arrays: $1 ids, $2 workflows, $3 payloads (joined, as the exits
 * of `recordAttempts`), $4 parents, $5 parent deferreds, $6 ats, $7 owners, $8 leases (`leaseUntil`), $9 idempotency
 * keys, $10 versions. Returns the rows it
 * inserted (a conflict inserts none).
 */
export const createClaimed = statement(
  "create_claimed",
  `WITH changed AS (
     INSERT INTO weft_executions (execution_id, workflow, payload, status, parent_execution_id, parent_deferred,
       created_at, updated_at, owner, fence, lease_until, idempotency_key, version)
     SELECT v.execution_id, v.workflow, v.payload, ${literal(T.create.to)}, v.parent_execution_id, v.parent_deferred, v.at, v.at,
       v.owner, 1, ${leaseUntil("v.lease_until")}, v.idempotency_key, v.version
     -- A lone empty payload (undefined) splits into no element at all.
     FROM unnest($1::text[], $2::text[], CASE WHEN $3::text = '' THEN '{""}' ELSE string_to_array($3::text, E'\\x1e') END,
       $4::text[], $5::text[], $6::bigint[], $7::text[], $8::bigint[], $9::text[], $10::int[])
       AS v(execution_id, workflow, payload, parent_execution_id, parent_deferred, at, owner, lease_until, idempotency_key, version)
     -- In id order: two workers creating the same ids wait for each other in one order, never in a cycle.
     ORDER BY v.execution_id
     ON CONFLICT (execution_id) DO NOTHING RETURNING ${EXECUTION}),
   logged AS (INSERT INTO weft_events (execution_id, kind, at) SELECT execution_id, ${eventKind(T.create)}, created_at FROM changed)
   SELECT * FROM changed`
)

/**
 * Completions as arrays: $1 ids, $2 fences, $3 statuses, $4 results (joined, as the exits of `recordAttempts`),
 * $5 ats, $6 event kinds. Locks its rows in id order, as `renew` does, so the two never deadlock. Returns the
 * ids it completed.
 */
export const completeMany = statement(
  "complete_many",
  `WITH v AS (
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], string_to_array($4::text, E'\\x1e'), $5::bigint[], $6::text[])
       AS v(execution_id, fence, status, result, at, kind)),
   locked AS (
     SELECT e.execution_id FROM weft_executions e JOIN v ON e.execution_id = v.execution_id
     WHERE e.fence = v.fence AND e.owner IS NOT NULL ORDER BY e.execution_id FOR NO KEY UPDATE OF e),
   changed AS (
     UPDATE weft_executions e SET status = v.status, result = v.result, ${assignments(T.complete)}, updated_at = v.at
     FROM v WHERE e.execution_id = v.execution_id AND e.execution_id IN (SELECT execution_id FROM locked)
       AND e.fence = v.fence AND e.owner IS NOT NULL
     RETURNING e.execution_id, e.watched, v.kind, v.at),
   logged AS (INSERT INTO weft_events (execution_id, kind, at) SELECT execution_id, kind, at FROM changed),
   announced AS (SELECT pg_notify('weft', '${notice(T.complete)}:' || execution_id || ':') FROM changed WHERE watched = 1)
   SELECT execution_id, (SELECT count(*) FROM announced) AS announced FROM changed`
)

/** $1 execution, $2 name, $3 wake at, $4 fence, $5 set at (or null): a durable sleep's clock, fenced. */
export const recordClock = statement(
  "record_clock",
  `INSERT INTO weft_clocks (execution_id, name, wake_at, set_at)
   SELECT $1::text, $2::text, $3::bigint, $5::bigint WHERE ${fenced("$4::bigint")}
   ON CONFLICT DO NOTHING RETURNING wake_at`
)

/** $1 execution, $2 name, $3 fence: the stored clock and whether the fence still holds. */
export const existingClock = statement(
  "existing_clock",
  `SELECT wake_at, set_at, (${fenced("$3::bigint")})::int AS held FROM weft_clocks
   WHERE execution_id = $1 AND name = $2`
)

/** $1 execution, $2 name, $3 exit, $4 completed at, $5 fence: a deferred the run itself resolved, fenced. */
export const recordDeferred = statement(
  "record_deferred",
  `INSERT INTO weft_deferreds (execution_id, name, exit, completed_at)
   SELECT $1::text, $2::text, $3::text, $4::bigint WHERE ${fenced("$5::bigint")}
   ON CONFLICT DO NOTHING RETURNING name`
)

/** $1 execution, $2 name, $3 fence: the stored deferred and whether the fence still holds. */
export const existingDeferred = statement(
  "existing_deferred",
  `SELECT name, exit, completed_at, (${fenced("$3::bigint")})::int AS held FROM weft_deferreds
   WHERE execution_id = $1 AND name = $2`
)

/** $1 execution, $2 name: a stored deferred. */
export const deferred = statement(
  "deferred",
  `SELECT name, exit, completed_at FROM weft_deferreds WHERE execution_id = $1 AND name = $2`
)

/**
 * The CTEs that wake the execution `$1` a signal's `inserted` deferred completed, at `$4`, and announce it: the rules'
 * `signalApplied` row, shared by `completeDeferred` and a channel's send.
 */
export const SIGNAL_WAKES = `woken AS (
     UPDATE weft_executions SET ${assignments(T.signalApplied)}, updated_at = $4::bigint
     WHERE execution_id = $1::text AND ${admits(T.signalApplied)} AND EXISTS (SELECT 1 FROM inserted)
     RETURNING workflow),
   announced AS (SELECT pg_notify('weft', '${notice(T.signalApplied)}:' || $1::text || ':' || workflow) FROM woken)`

/**
 * $1 execution, $2 name, $3 exit, $4 completed at: a deferred completed from outside the run (a token, a
 * child's end). Stores it unless it has a result or its execution was asked to stop (an interrupt wins over a
 * late signal), makes a live execution runnable, logs the signal (received or ignored) and announces it, in one
 * statement. The row is locked first: a signal that meets an interrupt request not yet committed waits for it
 * and is then refused (without the lock it read the row as it was and was applied). `found` 0: no such execution; `applied` 0: it had a result (read it with `deferred`) or was refused.
 */
export const completeDeferred = statement(
  "complete_deferred",
  `WITH target AS (
     SELECT execution_id, interrupt_requested FROM weft_executions WHERE execution_id = $1::text FOR NO KEY UPDATE),
   inserted AS (
     INSERT INTO weft_deferreds (execution_id, name, exit, completed_at)
     SELECT execution_id, $2::text, $3::text, $4::bigint FROM target WHERE interrupt_requested = 0
     ON CONFLICT DO NOTHING RETURNING name),
   logged AS (
     INSERT INTO weft_events (execution_id, kind, at, detail)
     SELECT execution_id,
       CASE WHEN EXISTS (SELECT 1 FROM inserted) THEN ${eventKind(T.signalApplied)} ELSE ${eventKind(T.signalRefused)} END,
       $4::bigint, $2::text FROM target),
   ${SIGNAL_WAKES}
   SELECT (SELECT count(*) FROM target)::int AS found, (SELECT count(*) FROM inserted)::int AS applied,
     (SELECT count(*) FROM announced)::int AS announced`
)

/**
 * Makes an execution runnable as `transition` says (on the rows it admits), logs its event with $3 detail and
 * announces its notice, in one statement: $1 execution, $2 at, $3 detail or null. Returns the workflow if it changed.
 */
const wakeStatement = (name: string, transition: StoreRules.Transition) =>
  statement(
    name,
    `WITH woken AS (
       UPDATE weft_executions SET ${assignments(transition)}, updated_at = $2::bigint
       WHERE execution_id = $1::text AND ${admits(transition)} RETURNING execution_id, workflow),
     logged AS (INSERT INTO weft_events (execution_id, kind, at, detail) SELECT execution_id, ${eventKind(transition)}, $2::bigint, $3::text FROM woken),
     announced AS (SELECT pg_notify('weft', '${notice(transition)}:' || execution_id || ':' || workflow) FROM woken)
     SELECT workflow, (SELECT count(*) FROM announced)::int AS announced FROM woken`
  )

/** Wakes a live execution (a timer fired, `resume`). */
export const wake = wakeStatement("wake", T.wake)

/** Asks a live execution to stop, waking it so whoever can run it sees the request. */
export const requestInterrupt = wakeStatement("request_interrupt", T.requestInterrupt)

/** Puts a failed execution back to running, its journal kept (`resume` after a defect). */
export const reopen = wakeStatement("reopen", T.reopen)
