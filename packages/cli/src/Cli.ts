/**
 * The `weft` command tree on `effect/cli`: inspect executions (`list`, `show`, `versions`) and act on them
 * (`interrupt`, `resume`, `signal`, `purge`) in the database the workers share, with `--json` output and exit codes.
 */
import { createRequire } from "node:module"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as References from "effect/References"
import * as CliError from "effect/cli/CliError"
import * as CliOutput from "effect/cli/CliOutput"
import * as Command from "effect/cli/Command"
import { exitCodes } from "./CommandError.js"
import * as Database from "./Database.js"
import * as Actions from "./internal/actions.js"
import { Json, report, Reported } from "./internal/command.js"
import { dashboard } from "./internal/dashboard.js"
import { exportCommand } from "./internal/export.js"
import * as Inspection from "./internal/inspection.js"
import * as Operator from "./internal/operator.js"
import { schedules } from "./internal/schedules.js"

/** `--json`: print one JSON document on stdout, and errors as JSON on stderr. */
export { Json }

/** The commands under `weft`. Later ones (trace, retry, restart, purge, schedules) are added to this list. */
export const commands = [
  Inspection.list,
  Inspection.show,
  Inspection.versions,
  exportCommand,
  Actions.interrupt,
  Actions.resume,
  Operator.retry,
  Operator.restart,
  Actions.signal,
  Actions.purge,
  schedules,
  dashboard
] as const

/** The `weft` command. */
export const command = Command.make("weft").pipe(
  Command.withDescription(
    "Inspect and act on Weft executions. The database is --database-url (or DATABASE_URL) for PostgreSQL, else " +
      `the SQLite file --db (default ${Database.defaultFile}).\n  ` +
      "Exit codes: 0 success, 1 not found or refused, 2 usage, 3 database unavailable, 4 other failure."
  ),
  Command.withSubcommands(commands),
  Command.withGlobalFlags([Json, ...Database.flags])
)

/** This package's version, from its package.json (one folder up from both `src/` and `dist/`). */
export const version: string = createRequire(import.meta.url)("../package.json").version

/**
 * Runs `weft` with `args` (without the node and script paths) and returns the process exit code; everything,
 * errors included, is printed here.
 */
export const run = (args: ReadonlyArray<string>): Effect.Effect<number, never, Command.Environment> => {
  const json = jsonRequested(args)
  return Command.runWith(command, { version })(args).pipe(
    Effect.as(0),
    Effect.catchCause((cause) => {
      // Stopped by SIGINT or SIGTERM: the conventional code, nothing more to say.
      if (Cause.hasInterruptsOnly(cause)) return Effect.succeed(130)
      const error = Cause.squash(cause)
      if (error instanceof Reported) return Effect.succeed(error.exitCode)
      // Parse errors were presented (help and errors) by the presenter below; `weft` alone shows its help.
      if (CliError.isCliError(error)) {
        return Effect.succeed(error._tag === "ShowHelp" && error.errors.length === 0 ? 0 : exitCodes.Usage)
      }
      return Effect.map(report(cause, json), (reported) => reported.exitCode)
    }),
    Effect.provide(CliOutput.layerPresenter(presenter(json))),
    // Logs go to stderr, never into the output on stdout; the engine's warnings are addressed to whoever runs the
    // workers, so only errors are shown unless `--log-level` asks for more.
    Effect.provideService(Logger.LogToStderr, true),
    Effect.provideService(References.MinimumLogLevel, "Error")
  )
}

/** Whether `--json` is among the arguments (before `--`), for errors found before the flags are parsed. */
const jsonRequested = (args: ReadonlyArray<string>): boolean => {
  const end = args.indexOf("--")
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === "--json" || arg === "--json=true")
}

/** Help and version on stdout; a command line that does not parse on stderr (as JSON under `--json`), exit code 2. */
const presenter = (json: boolean): CliOutput.Presenter => ({
  present: (event) =>
    Effect.gen(function*() {
      const formatter = yield* CliOutput.Formatter
      switch (event._tag) {
        case "Help":
          return yield* Console.log(formatter.formatHelpDoc(event.helpDoc))
        case "Version":
          return yield* Console.log(formatter.formatVersion(event.name, event.version))
        case "InvalidInvocation": {
          if (json) {
            const message = event.errors.map((e) => e.message).join("; ")
            return yield* Console.error(
              JSON.stringify({ error: { reason: "Usage", message, exitCode: exitCodes.Usage } })
            )
          }
          yield* Console.error(formatter.formatErrors(event.errors))
          return yield* Console.error(`Run \`${event.commandPath.join(" ")} --help\` for usage.`)
        }
      }
    })
})
