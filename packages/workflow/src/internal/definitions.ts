/**
 * What the runtime's mechanisms share, as types: a workflow or activity definition, a registration, the
 * engine's options and settings, and the engine state every mechanism reads. `engine.ts` assembles it.
 */
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Queue from "effect/Queue"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { WorkflowError } from "../WorkflowError.js"
import type { ExecutionRecord, Service as StoreService, Versions } from "../WorkflowStore.js"
import type * as Codec from "./codec.js"
import type { RetentionOptions } from "./retention.js"
import type { RetryPolicy } from "./retry.js"
import type { Scheduler } from "./scheduler.js"
import type * as Telemetry from "./telemetry.js"
import type * as Token from "./token.js"
import type { Waiters } from "./waiters.js"

/** What the runtime knows of a workflow definition. */
export interface WorkflowDef {
  readonly name: string
  /** The version its executions record (`Workflow.make({ version })`; default 1): each runs on its own to its end. */
  readonly version: number
  readonly codec: Codec.Codec
  readonly idempotencyKey: (payload: any) => string
  /** How long an execution may take from its start: past it, it is interrupted wherever it is. */
  readonly deadlineMs?: number | undefined
}

/** What the runtime knows of an activity. */
export interface ActivityDef {
  readonly name: string
  readonly codec: Codec.Codec
  readonly execute: Effect.Effect<any, any, any>
  readonly retry: RetryPolicy | undefined
  /** Run the body in the store's transaction together with the write of its result. */
  readonly transactional?: boolean | undefined
  /** How long one attempt may run, in milliseconds: past it the attempt is a failed one (a defect, retried by policy). */
  readonly timeoutMs?: number | undefined
}

/** A registered workflow: its definition, body and the services the body runs with. */
export interface Registration {
  readonly def: WorkflowDef
  readonly handler: (payload: any, executionId: string) => Effect.Effect<any, any, any>
  readonly context: Context.Context<never>
}

/** A key that signs deferred tokens: text (its UTF-8 bytes) or bytes, plain or `Redacted`; 32 bytes or more. */
export type SigningKey = string | Uint8Array | Redacted.Redacted<string> | Redacted.Redacted<Uint8Array>

/**
 * Named signing keys, for rotation: new tokens are signed with `current` and carry its id; a token is checked with
 * the key its id names, so tokens signed with a `previous` key stay valid until that key leaves the ring. An id is
 * 1 to 64 letters, digits, `-` or `_`.
 */
export interface SigningKeyring {
  readonly current: { readonly id: string; readonly key: SigningKey }
  readonly previous?: ReadonlyArray<{ readonly id: string; readonly key: SigningKey }> | undefined
}

/** Engine options shared by every store. */
export interface EngineOptions {
  /** This worker's name in claims. Default: a random id. */
  readonly owner?: string | undefined
  /** Sleeps up to this long stay in the fiber; longer ones suspend. Default 60 seconds. */
  readonly inMemoryThreshold?: number | undefined
  /**
   * The key that signs deferred tokens (32 bytes or more, from a secret), or a keyring of named keys to rotate
   * them. A key given alone has the id `"default"`. Default: generated and kept by the store.
   */
  readonly signingKey?: SigningKey | SigningKeyring | undefined
  /**
   * How long the tokens of `DurableDeferred.token` and `tokenFor` stay valid when they do not say (`expiresIn`).
   * Default: they do not expire.
   */
  readonly tokenExpiresIn?: Duration.Input | undefined
  /**
   * How often to look for work other processes made runnable (expired claims, timers, queue items).
   * Only needed when several processes share a store. Default: never.
   */
  readonly pollIntervalMs?: number | undefined
  /** Delay before re-running an execution whose store write failed transiently. Default 1 second. */
  readonly storeRetryMs?: number | undefined
  /** Renew a run's claim this often (stores shared by several processes). Default: never. */
  readonly heartbeatMs?: number | undefined
  /**
   * How many executions this engine runs at once (a suspended one holds no run and does not count).
   * Work past it is left in the store, for other workers or for this one once a run ends. Default 1,000.
   */
  readonly maxRuns?: number | undefined
  /**
   * With a heartbeat, the timer loop claims runnable work in statements of at most this many executions,
   * and never more than it has free run slots for. Default 32.
   */
  readonly claimBatch?: number | undefined
  /**
   * Let `execute` start workflows this engine has not registered, for processes that only submit
   * work that other workers run. Default false: starting one is a `NotRegistered` error.
   */
  readonly acceptUnregistered?: boolean | undefined
  /**
   * An `execute` of a workflow this engine does not run (it only submits it, with `acceptUnregistered`) logs a
   * warning once it has waited this long, by the `Clock`, naming the workflow and execution; it keeps waiting for a
   * worker elsewhere. Default 30 seconds; `Infinity`: never.
   */
  readonly noWorkerWarningMs?: number | undefined
  /**
   * Give every run, executed activity attempt, durable sleep and deferred wait a span. Default: on when a tracer other than
   * Effect's built-in one (an exporter, such as OpenTelemetry's) is installed where the engine is built.
   */
  readonly tracing?: boolean | undefined
  /**
   * Purge ended executions periodically: at start, then `every` (default one hour) by the `Clock`, those that
   * ended more than `olderThan` ago in `status` (default: any end). A failed round is logged; the next one tries
   * again. Purging also ends the idempotency window: a start with the key of a purged execution makes a new one.
   * Default: off.
   *
   * @example
   * WorkflowEngine.layer({ retention: { olderThan: "30 days", status: ["succeeded"], every: "1 hour" } })
   */
  readonly retention?: RetentionOptions | undefined
  /**
   * How often, in real time, the engine counts the runnable backlog of the workflows it registered (one query) into
   * the `weft_runnable_backlog` gauge. Default 15 seconds; `Infinity`: never. Stores without `backlog` report none.
   */
  readonly backlogIntervalMs?: number | undefined
}

/** The options with their defaults applied. */
export interface Settings {
  readonly inMemoryThreshold: number
  readonly storeRetryMs: number
  readonly pollIntervalMs: number | undefined
  readonly heartbeatMs: number | undefined
  readonly maxRuns: number
  readonly claimBatch: number
  readonly acceptUnregistered: boolean
  readonly noWorkerWarningMs: number
}

/** The engine as its mechanisms see it: the store, settings, registry, run slots and result waiters. */
export interface Engine {
  readonly store: StoreService
  /** This worker's name in claims. */
  readonly owner: string
  readonly settings: Settings
  readonly telemetry: Telemetry.Telemetry
  /** The keys that sign and check deferred tokens, and the tokens' default lifetime. */
  readonly signingKey: Token.Signer
  /** The engine's scope: run loops and background loops are forked in it. */
  readonly scope: Scope.Scope
  /** Registered workflows, by name: the newest version of each (what a start runs). */
  readonly registry: Map<string, Registration>
  /** Every registered version of each workflow, by name then version: what a claimed execution runs on. */
  readonly registered: Map<string, Map<number, Registration>>
  /** The (workflow, versions) pairs this engine runs, as its claims filter them. */
  readonly claimable: Versions
  /** Queue workers waiting for items, by queue name. */
  readonly queueWaiters: Map<string, Set<Queue.Queue<void>>>
  readonly results: Waiters
  readonly scheduler: Scheduler
  /** Set when the engine's scope closes: its run loops are gone, so nobody would answer a waiter or a poll. */
  readonly closed: boolean
  /** An execution's record; with `workflow`, only if it belongs to that workflow. Unknown: `ExecutionNotFound`. */
  readonly get: (executionId: string, workflow?: string) => Effect.Effect<ExecutionRecord, WorkflowError>
}
