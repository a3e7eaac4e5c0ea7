/**
 * Counts the statements the SQL drivers execute, so the bench can report round trips per activity
 * without touching the store. It patches the drivers once per process:
 *
 * - `pg`: `Client.prototype.query`, which every statement of the engine's `PgDriver` goes through
 *   (pooled or not, the heartbeat's and LISTEN connections too). One call is one round trip (parse,
 *   bind and execute are pipelined), BEGIN and COMMIT included. `@effect/sql-pg` 4's `PgClient` (the
 *   `SqlClient` of `layerPg`: your queries and transactional activities) speaks the protocol itself
 *   and is not counted; no workload uses it.
 * - better-sqlite3: the statement methods (`run`, `all`, `get`, `iterate`); `@weft/engine-sql`'s
 *   SqliteClient prepares every statement, BEGIN and COMMIT included. In-process, so a statement is a
 *   call, not a round trip.
 *
 * A commit is a COMMIT, or a writing statement outside a transaction that changed a row (one that
 * changed nothing has no transaction to flush): with `synchronous_commit = on` (PostgreSQL) or WAL
 * with `synchronous = FULL` (SQLite's default), each one waits for a flush to disk.
 */
import { createRequire } from "node:module"
import Pg from "pg"

/** Totals since the process started; subtract two to count a stretch. */
export interface Tally {
  readonly statements: number
  readonly commits: number
  /** Statements by their kind (see `kindOf`). */
  readonly byKind: ReadonlyMap<string, number>
}

let statements = 0
let commits = 0
const byText = new Map<string, number>()
const inTransaction = new WeakSet<object>()
const WRITE = /^\s*(?:INSERT|UPDATE|DELETE|WITH\b[\s\S]*\b(?:INSERT|UPDATE|DELETE)\b)/i

/** Counts a statement; true when it is a write outside a transaction, a commit if it changes a row. */
const count = (connection: object, text: string): boolean => {
  statements++
  byText.set(text, (byText.get(text) ?? 0) + 1)
  if (/^\s*BEGIN/i.test(text)) inTransaction.add(connection)
  else if (/^\s*COMMIT/i.test(text)) {
    if (inTransaction.delete(connection)) commits++
  } else if (/^\s*ROLLBACK\s*$/i.test(text)) inTransaction.delete(connection)
  else return !inTransaction.has(connection) && WRITE.test(text)
  return false
}

let installed = false

/** Patches both drivers; idempotent. */
export const install = (): void => {
  if (installed) return
  installed = true
  const query = Pg.Client.prototype.query as (...args: Array<any>) => any
  Pg.Client.prototype.query = function (this: Pg.Client, ...args: Array<any>) {
    const config = args[0]
    const text = typeof config === "string" ? config : typeof config?.text === "string" ? config.text : ""
    if (count(this, text)) {
      // An autocommit write: a commit that flushes only if it changed a row (else no transaction id).
      const i = args.length - 1
      if (typeof args[i] !== "function") commits++
      else {
        const callback = args[i] as (error: unknown, result: any) => void
        args[i] = (error: unknown, result: any) => {
          if (error == null && (result?.rowCount ?? 0) > 0) commits++
          callback(error, result)
        }
      }
    }
    return query.apply(this, args)
  } as typeof Pg.Client.prototype.query

  const require = createRequire(import.meta.url)
  const Database = require("better-sqlite3") as new(filename: string) => any
  const db = new Database(":memory:")
  const proto = Object.getPrototypeOf(db.prepare("SELECT 1"))
  db.close()
  const changed: Record<string, (result: any) => boolean> = {
    run: (info) => (info?.changes ?? 0) > 0,
    all: (rows) => Array.isArray(rows) && rows.length > 0,
    get: (row) => row !== undefined,
    iterate: () => true
  }
  for (const method of Object.keys(changed)) {
    const original = proto[method] as (...args: Array<any>) => any
    proto[method] = function (this: { readonly database: object; readonly source: string }, ...args: Array<any>) {
      const write = count(this.database, this.source)
      const result = original.apply(this, args)
      if (write && changed[method]!(result)) commits++
      return result
    }
  }
}

/** The totals so far. `byKind` is computed on demand: take it outside measured stretches. */
export const tally = (withKinds = false): Tally => {
  const kinds = new Map<string, number>()
  if (withKinds) {
    for (const [text, n] of byText) {
      const kind = kindOf(text)
      kinds.set(kind, (kinds.get(kind) ?? 0) + n)
    }
  }
  return { statements, commits, byKind: kinds }
}

/** What happened between two tallies. */
export const since = (before: Tally, after: Tally = tally(before.byKind.size > 0)): Tally => {
  const kinds = new Map<string, number>()
  for (const [kind, n] of after.byKind) {
    const delta = n - (before.byKind.get(kind) ?? 0)
    if (delta !== 0) kinds.set(kind, delta)
  }
  return { statements: after.statements - before.statements, commits: after.commits - before.commits, byKind: kinds }
}

/**
 * A statement's kind: its verb and the first table it names, e.g. `INSERT weft_attempts`, `BEGIN`,
 * `SELECT pg_notify`, `WITH…UPDATE weft_executions` (the PostgreSQL claim).
 */
export const kindOf = (text: string): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  const verb = (flat.match(/^\w+/)?.[0] ?? "?").toUpperCase()
  if (verb === "BEGIN" || verb === "COMMIT" || verb === "ROLLBACK" || verb === "SAVEPOINT") return verb
  if (/^SELECT pg_notify/i.test(flat)) return "SELECT pg_notify"
  const table = flat.match(/\bweft_\w+/)?.[0] ?? flat.match(/\bbench_\w+/)?.[0] ?? ""
  if (verb === "WITH") {
    const inner = flat.match(/\b(INSERT|UPDATE|DELETE)\b/i)?.[1]?.toUpperCase() ?? "SELECT"
    return `WITH…${inner} ${table}`.trim()
  }
  // A read of an execution that also gathers its journal (the claim on SQLite, `detail`).
  if (verb === "SELECT" && /json_(group_array|agg)/i.test(flat)) return `SELECT ${table}+journal`
  return `${verb} ${table}`.trim()
}
