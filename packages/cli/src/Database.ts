/**
 * Which database a `weft` command opens, and the engine over it: PostgreSQL from `--database-url` or
 * `DATABASE_URL`, else a SQLite file (`--db`, default `./.weft/weft.db`) that must already hold a Weft database.
 */
import { existsSync } from "node:fs"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Flag from "effect/cli/Flag"
import * as GlobalFlag from "effect/cli/GlobalFlag"
import { type WorkflowEngine, WorkflowError } from "@weft/workflow"
import { CommandError, fromWorkflowError } from "./CommandError.js"

/** The SQLite file used when no database is named. */
export const defaultFile = ".weft/weft.db"

/** Where the executions are: a SQLite file or a PostgreSQL database. */
export type Target =
  | { readonly _tag: "Sqlite"; readonly filename: string }
  | { readonly _tag: "Postgres"; readonly url: Redacted.Redacted<string> }

/** `--db <path>`: the SQLite file (default `./.weft/weft.db`). */
export const Db = GlobalFlag.Setting("db")({
  flag: Flag.String("db").pipe(
    Flag.withDescription(`The SQLite database file (default ${defaultFile}); it must exist`),
    Flag.optional
  )
})

/** `--database-url <url>`: a PostgreSQL database; `DATABASE_URL` when the flag is not given. */
export const DatabaseUrl = GlobalFlag.Setting("database-url")({
  flag: Flag.Redacted("database-url").pipe(
    Flag.withDescription("A PostgreSQL URL (default: the DATABASE_URL environment variable)"),
    Flag.optional
  )
})

/** `--signing-key <key>`: the key that signs deferred tokens, when the workers set one; else the database's own. */
export const SigningKey = GlobalFlag.Setting("signing-key")({
  flag: Flag.Redacted("signing-key").pipe(
    Flag.withDescription(
      "The signingKey the workers' engine was given (default: WEFT_SIGNING_KEY, else the key kept in the database)"
    ),
    Flag.optional
  )
})

/**
 * `--signing-keyring <json>`: the keyring that signs deferred tokens, when the workers set one, as JSON:
 * `{"current":{"id":"2025-06","key":"…"},"previous":[{"id":"2025-01","key":"…"}]}`.
 */
export const SigningKeyring = GlobalFlag.Setting("signing-keyring")({
  flag: Flag.Redacted("signing-keyring").pipe(
    Flag.withDescription(
      "The signingKey keyring the workers' engine was given, as JSON: " +
        "{\"current\":{\"id\":\"…\",\"key\":\"…\"},\"previous\":[…]} (default: WEFT_SIGNING_KEYRING)"
    ),
    Flag.optional
  )
})

/** The global flags of database selection. */
export const flags = [Db, DatabaseUrl, SigningKey, SigningKeyring] as const

/**
 * The database the flags and the environment name: `--database-url`, then `--db`, then `DATABASE_URL`, then
 * the default SQLite file. Both flags at once is a usage error.
 */
export const target: Effect.Effect<Target, CommandError, GlobalFlag.Setting.Identifier<"db" | "database-url">> = Effect
  .gen(function*() {
    const db = yield* Db
    const url = yield* DatabaseUrl
    if (Option.isSome(db) && Option.isSome(url)) {
      return yield* new CommandError({ reason: "Usage", message: "Give --db or --database-url, not both" })
    }
    if (Option.isSome(url)) return { _tag: "Postgres", url: url.value } as const
    if (Option.isSome(db)) return { _tag: "Sqlite", filename: db.value } as const
    const env = yield* Config.option(Config.Redacted("DATABASE_URL")).pipe(Effect.orElseSucceed(() => Option.none()))
    if (Option.isSome(env) && Redacted.value(env.value) !== "") return { _tag: "Postgres", url: env.value } as const
    return { _tag: "Sqlite", filename: defaultFile } as const
  })

/**
 * The signing key from `--signing-key` or `WEFT_SIGNING_KEY`, or the keyring from `--signing-keyring` or
 * `WEFT_SIGNING_KEYRING`, if any: a flag before the environment; a key and a keyring from the same place is a usage
 * error, as is a keyring that does not parse.
 */
export const signingKey: Effect.Effect<
  Option.Option<WorkflowEngine.SigningKey | WorkflowEngine.SigningKeyring>,
  CommandError,
  GlobalFlag.Setting.Identifier<"signing-key" | "signing-keyring">
> = Effect.gen(function*() {
  const keyFlag = yield* SigningKey
  const ringFlag = yield* SigningKeyring
  if (Option.isSome(keyFlag) && Option.isSome(ringFlag)) {
    return yield* new CommandError({ reason: "Usage", message: "Give --signing-key or --signing-keyring, not both" })
  }
  if (Option.isSome(keyFlag)) return Option.some(Redacted.value(keyFlag.value))
  if (Option.isSome(ringFlag)) {
    return Option.some(yield* parseKeyring(Redacted.value(ringFlag.value), "--signing-keyring"))
  }
  const key = yield* environment("WEFT_SIGNING_KEY")
  const ring = yield* environment("WEFT_SIGNING_KEYRING")
  if (Option.isSome(key) && Option.isSome(ring)) {
    return yield* new CommandError({
      reason: "Usage",
      message: "Set WEFT_SIGNING_KEY or WEFT_SIGNING_KEYRING, not both"
    })
  }
  if (Option.isSome(ring)) return Option.some(yield* parseKeyring(ring.value, "WEFT_SIGNING_KEYRING"))
  return key
})

/** How a target is named in messages: the SQLite path, or the URL with its password hidden. */
export const describe = (target: Target): string =>
  target._tag === "Sqlite" ? `SQLite file ${target.filename}` : `PostgreSQL at ${redact(Redacted.value(target.url))}`

/**
 * The engine over a target, registering no workflow: it claims nothing, so it only reads and writes what a command
 * asks, and the workers that registered a workflow are woken by the store (PostgreSQL NOTIFY, SQLite polling).
 * No polling here: the process ends as soon as the command does.
 */
export const engine = (
  target: Target,
  signingKey: Option.Option<WorkflowEngine.SigningKey | WorkflowEngine.SigningKeyring>
): Layer.Layer<WorkflowEngine.WorkflowEngine, CommandError> => {
  const options = {
    owner: `weft-cli-${process.pid}`,
    pollIntervalMs: undefined,
    // One try: a command reports an unreachable database at once rather than retrying for seconds.
    connectRetry: Schedule.recurs(0),
    ...(Option.isSome(signingKey) ? { signingKey: signingKey.value } : {})
  }
  const built: Layer.Layer<WorkflowEngine.WorkflowEngine, CommandError | WorkflowError.WorkflowError> =
    target._tag === "Sqlite"
      ? Layer.unwrap(
        Effect.andThen(checkSqliteFile(target.filename), () =>
          // Loaded on demand, so a PostgreSQL command never loads better-sqlite3 and the reverse.
          Effect.map(
            Effect.promise(() => import("@weft/engine-sql/sqlite")),
            ({ SqliteEngine }) => SqliteEngine.layer({ ...options, filename: target.filename })
          ))
      )
      : Layer.unwrap(
        Effect.andThen(checkPgDatabase(target), () =>
          Effect.map(
            Effect.promise(() => import("@weft/engine-sql/pg")),
            ({ PgEngine }) => PgEngine.layer({ ...options, url: Redacted.value(target.url), maxConnections: 2 })
          ))
      )
  return Layer.effectContext(
    Effect.mapError(Layer.build(built), (error) => error._tag === "CommandError" ? error : unavailable(target, error))
  )
}

/** A PostgreSQL URL with its password (in the authority or as a `password` parameter) replaced by `***`. */
export const redact = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.password !== "") parsed.password = "***"
    if (parsed.searchParams.has("password")) parsed.searchParams.set("password", "***")
    return parsed.toString()
  } catch {
    // A URL that does not parse: everything up to its last "@" (a password may hold "@", "/" or spaces) and any
    // password parameter are hidden, rather than guessed at.
    return url.replace(/\/\/.*@/s, "//***@").replace(/(password=)[^&#]*/gi, "$1***")
  }
}

/**
 * Refuses a SQLite file that does not exist or holds no Weft tables: opening it for a read would otherwise
 * create an empty database (and migrate it) where the user mistyped a path.
 */
const checkSqliteFile = (filename: string): Effect.Effect<void, CommandError> =>
  Effect.suspend(() => {
    if (filename === ":memory:" || !existsSync(filename)) {
      return Effect.fail(
        new CommandError({
          reason: "DatabaseUnavailable",
          message: `No Weft database at ${filename}: the file does not exist (give --db <path> or --database-url <url>)`
        })
      )
    }
    return Effect.tryPromise({
      try: async () => {
        const { default: Sqlite } = await import("better-sqlite3")
        const db = new Sqlite(filename, { readonly: true, fileMustExist: true })
        try {
          return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'weft_executions'").get()
        } finally {
          db.close()
        }
      },
      catch: (error) =>
        new CommandError({
          reason: "DatabaseUnavailable",
          message: `Could not open SQLite file ${filename}: ${error instanceof Error ? error.message : String(error)}`
        })
    }).pipe(
      Effect.flatMap((found) =>
        found === undefined
          ? Effect.fail(
            new CommandError({
              reason: "DatabaseUnavailable",
              message: `${filename} is a SQLite file but not a Weft database (it has no weft_executions table)`
            })
          )
          : Effect.void
      )
    )
  })

/**
 * Refuses a PostgreSQL database without Weft's tables, for the same reason as a SQLite file: the engine would
 * create them in a database the user named by mistake. An unreachable one fails here, before the engine's pool.
 */
const checkPgDatabase = (target: Extract<Target, { _tag: "Postgres" }>): Effect.Effect<void, CommandError> =>
  Effect.tryPromise({
    try: async () => {
      const { default: pg } = await import("pg")
      const client = new pg.Client({ connectionString: Redacted.value(target.url), connectionTimeoutMillis: 5_000 })
      // A connection that fails after connecting (the server going away) must not crash the process.
      client.on("error", () => undefined)
      await client.connect()
      try {
        const { rows } = await client.query("SELECT to_regclass('weft_executions') IS NOT NULL AS found")
        return rows[0]?.found === true
      } finally {
        await client.end().catch(() => undefined)
      }
    },
    catch: (error) =>
      unavailable(
        target,
        new WorkflowError.WorkflowError({
          reason: "StoreUnavailable",
          message: `Could not open ${describe(target)}: ${error instanceof Error ? error.message : String(error)}`
        })
      )
  }).pipe(
    Effect.flatMap((found) =>
      found
        ? Effect.void
        : Effect.fail(
          new CommandError({
            reason: "DatabaseUnavailable",
            message: `${describe(target)} is not a Weft database (it has no weft_executions table)`
          })
        )
    )
  )

/** A non-empty environment variable, if set. */
const environment = (name: string): Effect.Effect<Option.Option<string>> =>
  Config.option(Config.Redacted(name)).pipe(
    Effect.map((value) => Option.filter(Option.map(value, Redacted.value), (text) => text !== "")),
    Effect.orElseSucceed(() => Option.none())
  )

const KeyEntry = Schema.Struct({ id: Schema.String, key: Schema.String })
const Keyring = Schema.Struct({ current: KeyEntry, previous: Schema.optional(Schema.Array(KeyEntry)) })

/** A keyring given as JSON; the engine checks its ids and key lengths when it starts. */
const parseKeyring = (text: string, source: string): Effect.Effect<WorkflowEngine.SigningKeyring, CommandError> => {
  const usage = (why: string) =>
    new CommandError({
      reason: "Usage",
      message: `${source} is not a keyring (${why}): expected {"current":{"id":"…","key":"…"},"previous":[…]}`
    })
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    // The text holds keys: it is never echoed, nor is the parser's message, which quotes it.
    return Effect.fail(usage("not JSON"))
  }
  const decoded = Schema.decodeUnknownResult(Keyring)(json)
  return Result.isSuccess(decoded)
    ? Effect.succeed(decoded.success)
    : Effect.fail(usage("each key needs a string id and a string key"))
}

const unavailable = (target: Target, error: WorkflowError.WorkflowError): CommandError => {
  if (error.reason !== "StoreUnavailable") return fromWorkflowError(error)
  // The engine's message names the database with its password hidden in the URL's authority; a password given as
  // a parameter, or echoed by the driver, is hidden here.
  const secrets = target._tag === "Postgres" ? passwordsOf(Redacted.value(target.url)) : []
  const message = secrets.reduce((text, secret) => text.split(secret).join("***"), error.message)
  return new CommandError({
    reason: "DatabaseUnavailable",
    message: message.startsWith("Could not open ") ? message : `Could not reach ${describe(target)}: ${message}`
  })
}

const passwordsOf = (url: string): Array<string> => {
  try {
    const parsed = new URL(url)
    const raw = [parsed.password, parsed.searchParams.get("password") ?? ""].filter((p) => p.length >= 3)
    return [...new Set(raw.flatMap((p) => [p, decodeURIComponent(p), encodeURIComponent(p)]))]
      .sort((a, b) => b.length - a.length)
  } catch {
    return []
  }
}
