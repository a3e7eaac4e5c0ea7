/**
 * The in-memory journal: the whole contract of `WorkflowStore`, kept in maps. For tests,
 * development and workflows that need not outlive the process.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as MemoryInspection from "./internal/memoryInspection.js"
import * as MemorySchedules from "./internal/memorySchedules.js"
import { WorkflowError } from "./WorkflowError.js"
import {
  admits,
  applyTransition,
  newRecord,
  takeoverEvent,
  type Transition,
  transitionEvent,
  type TransitionInput,
  transitions
} from "./StoreRules.js"
import {
  type ActivityAttempt,
  type Claim,
  type ClockRecord,
  type DeferredRecord,
  type EventRecord,
  type ExecutionRecord,
  type ExecutionStatus,
  type InFlight,
  live,
  type MessageSent,
  type Purged,
  type QueueItem,
  runsVersion,
  type Service,
  terminal,
  type Versions,
  WorkflowStore
} from "./WorkflowStore.js"

/** Options of the memory store. */
export interface Options {
  /** How long a claim holds without being released, in milliseconds. Default 5,000. */
  readonly leaseMs?: number | undefined
}

/** An execution as the memory store keeps it. */
export interface Entry {
  record: ExecutionRecord
  attempts: Array<ActivityAttempt> | undefined
  /** (attempt, name) → attempt, so first-writer-wins is not a scan of a long journal. */
  attemptIndex: Map<string, ActivityAttempt> | undefined
  deferreds: Array<DeferredRecord> | undefined
  clocks: Array<ClockRecord> | undefined
  events: Array<EventRecord> | undefined
  owner: string | undefined
  fence: number
  leaseUntil: number
  /** The attempts the claim's run had in flight at its last renewal; undefined until one says. */
  inFlight?: ReadonlyArray<InFlight> | undefined
}

interface QueueEntry {
  readonly item: QueueItem
  owner: string | undefined
  leaseUntil: number
}

/** Builds a fresh memory store. */
export const make = (options: Options = {}): Service => {
  const leaseMs = options.leaseMs ?? 5_000
  const entries = new Map<string, Entry>()
  const open = new Set<string>()
  /** Linked children by parent, while they have not ended (a reopened child is linked again). */
  const children = new Map<string, Set<string>>()
  const link = (record: ExecutionRecord) => {
    if (record.parent === undefined) return
    const siblings = children.get(record.parent.executionId)
    if (siblings === undefined) children.set(record.parent.executionId, new Set([record.executionId]))
    else siblings.add(record.executionId)
  }
  const unlink = (record: ExecutionRecord) => {
    if (record.parent === undefined) return
    const siblings = children.get(record.parent.executionId)
    if (siblings?.delete(record.executionId) === true && siblings.size === 0) children.delete(record.parent.executionId)
  }
  const queues = new Map<string, Map<string, QueueEntry>>()
  let key: Uint8Array | undefined
  let fences = 0

  /**
   * Claims `entry` for `owner`: a new fence and lease, and its journal as it is now. Taken from another owner (whose
   * lease lapsed: the callers checked), it logs the takeover.
   */
  const take = (entry: Entry, owner: string, now: number): Claim => {
    if (entry.owner !== undefined && entry.owner !== owner) {
      const takeover = { from: entry.owner, to: owner, leaseEndedAt: entry.leaseUntil, inFlight: entry.inFlight }
      ;(entry.events ??= []).push(takeoverEvent(takeover, now))
    }
    entry.inFlight = undefined
    entry.owner = owner
    entry.fence = ++fences
    entry.leaseUntil = now + leaseMs
    return {
      fence: entry.fence,
      journal: {
        execution: entry.record,
        attempts: [...(entry.attempts ?? [])],
        deferreds: [...(entry.deferreds ?? [])],
        clocks: [...(entry.clocks ?? [])]
      }
    }
  }

  /** Every due timer of `workflows` fires, even past a limit (as the SQL stores' one UPDATE does). */
  const fireDue = (now: number, workflows: ReadonlyArray<string>) => {
    for (const id of open) {
      const entry = entries.get(id)!
      const record = entry.record
      if (!workflows.includes(record.workflow)) continue
      if (admits(transitions.timerFired, record.status) && record.wakeAt !== undefined && record.wakeAt <= now) {
        apply(entry, transitions.timerFired, now)
      }
    }
  }

  /** At most `limit` running executions of `workflows` (of `versions`, when given) that nobody holds. */
  const claimable = (now: number, limit: number, workflows: ReadonlyArray<string>, versions?: Versions): Array<Entry> => {
    const out: Array<Entry> = []
    for (const id of open) {
      if (out.length >= limit) break
      const entry = entries.get(id)!
      const record = entry.record
      if (!workflows.includes(record.workflow) || !runsVersion(versions, record)) continue
      const free = entry.owner === undefined || entry.leaseUntil <= now
      if (free && admits(transitions.claim, record.status)) out.push(entry)
    }
    return out
  }

  const leaseLost = (executionId: string) =>
    new WorkflowError({ reason: "LeaseLost", executionId, message: `The claim on execution ${executionId} was lost` })

  const held = (executionId: string, fence: number): Entry | WorkflowError => {
    const entry = entries.get(executionId)
    if (entry === undefined || entry.fence !== fence || entry.owner === undefined) return leaseLost(executionId)
    return entry
  }

  /**
   * Applies `transition` to an entry at `at`, as the rules say: the record changes only from a status the
   * transition admits; its event is appended when the record changed, or always where the rules say `log`.
   */
  const apply = (entry: Entry, transition: Transition, at: number, input?: TransitionInput) => {
    const admitted = admits(transition, entry.record.status)
    if (admitted) {
      entry.record = applyTransition(entry.record, transition, at, input)
      if (transition.claim === "release") entry.owner = undefined
    }
    const event = admitted || transition.otherwise === "log" ? transitionEvent(transition, at, input) : undefined
    if (event !== undefined) (entry.events ??= []).push(event)
  }

  const store: Service = {
    create: (execution) =>
      Effect.sync(() => {
        const existing = entries.get(execution.executionId)
        if (existing !== undefined) return { created: false, record: existing.record }
        const record = newRecord(execution)
        const started = transitionEvent(transitions.create, execution.at)
        entries.set(execution.executionId, {
          record,
          attempts: undefined,
          attemptIndex: undefined,
          deferreds: undefined,
          clocks: execution.clocks === undefined || execution.clocks.length === 0 ? undefined : [...execution.clocks],
          events: started === undefined ? undefined : [started],
          owner: execution.claimFor,
          fence: execution.claimFor === undefined ? 0 : ++fences,
          leaseUntil: execution.claimFor === undefined ? 0 : execution.at + leaseMs
        })
        open.add(execution.executionId)
        link(record)
        return { created: true, record, fence: execution.claimFor === undefined ? undefined : fences }
      }),

    get: (executionId) => Effect.sync(() => Option.map(Option.fromNullishOr(entries.get(executionId)), (e) => e.record)),

    watch: (executionId) =>
      Effect.sync(() => Option.map(Option.fromNullishOr(entries.get(executionId)), (e) => e.record)),

    purge: (filter) =>
      Effect.sync(() => {
        const purged: Array<Purged> = []
        if (filter.limit < 1) return purged
        const statuses = new Set<ExecutionStatus>(filter.statuses)
        for (const [executionId, entry] of entries) {
          const { status, updatedAt } = entry.record
          if (!terminal.has(status) || !statuses.has(status) || updatedAt >= filter.before) continue
          entries.delete(executionId)
          purged.push({ executionId, status: status as Purged["status"] })
          if (purged.length >= filter.limit) break
        }
        if (purged.length > 0) {
          const prefixes = purged.map(({ executionId }) => `${executionId}/`)
          for (const queue of queues.values()) {
            for (const itemId of queue.keys()) {
              if (prefixes.some((prefix) => itemId.startsWith(prefix))) queue.delete(itemId)
            }
          }
        }
        return purged
      }),

    ended: (executionIds) =>
      Effect.sync(() =>
        executionIds.flatMap((executionId) => {
          const entry = entries.get(executionId)
          return entry !== undefined && terminal.has(entry.record.status) ? [entry.record] : []
        })
      ),

    liveChildren: (parentExecutionId) =>
      Effect.sync(() =>
        [...(children.get(parentExecutionId) ?? [])].flatMap((executionId) => {
          const record = entries.get(executionId)?.record
          return record !== undefined && live.has(record.status) ? [record] : []
        })
      ),

    claim: (executionId, owner, now, versions) =>
      Effect.sync(() => {
        const entry = entries.get(executionId)
        if (entry === undefined || !admits(transitions.claim, entry.record.status)) return Option.none()
        if (!runsVersion(versions, entry.record)) return Option.none()
        if (entry.owner !== undefined && entry.owner !== owner && entry.leaseUntil > now) return Option.none()
        return Option.some(take(entry, owner, now))
      }),

    claimRunnable: (owner, now, limit, workflows, versions) =>
      Effect.sync(() => {
        fireDue(now, workflows)
        const out: Array<Claim> = []
        for (const entry of claimable(now, limit, workflows, versions)) out.push(take(entry, owner, now))
        return out
      }),

    release: (executionId, fence) =>
      Effect.sync(() => {
        const entry = entries.get(executionId)
        if (entry !== undefined && entry.fence === fence) entry.owner = undefined
      }),

    recordAttempt: (executionId, fence, attempt) =>
      Effect.suspend(() => {
        const entry = held(executionId, fence)
        if (entry instanceof WorkflowError) return Effect.fail(entry)
        const index = (entry.attemptIndex ??= new Map())
        const key = `${attempt.attempt}:${attempt.name}`
        const existing = index.get(key)
        if (existing !== undefined) return Effect.succeed(existing)
        index.set(key, attempt)
        ;(entry.attempts ??= []).push(attempt)
        return Effect.succeed(attempt)
      }),

    recordClock: (executionId, fence, clock) =>
      Effect.suspend(() => {
        const entry = held(executionId, fence)
        if (entry instanceof WorkflowError) return Effect.fail(entry)
        const clocks = (entry.clocks ??= [])
        const existing = clocks.find((c) => c.name === clock.name)
        if (existing !== undefined) return Effect.succeed(existing)
        clocks.push(clock)
        return Effect.succeed(clock)
      }),

    completeDeferred: (executionId, deferred) =>
      Effect.suspend((): Effect.Effect<{ applied: boolean; record: DeferredRecord }, WorkflowError> => {
        const entry = entries.get(executionId)
        if (entry === undefined) return Effect.fail(missing(executionId, `complete deferred "${deferred.name}" of`))
        const deferreds = (entry.deferreds ??= [])
        const existing = deferreds.find((d) => d.name === deferred.name)
        const input = { deferred: deferred.name }
        // An interrupt wins over a signal that lands after it was requested.
        if (existing !== undefined || entry.record.interruptRequested) {
          apply(entry, transitions.signalRefused, deferred.completedAt, input)
          return Effect.succeed({ applied: false, record: existing ?? deferred })
        }
        deferreds.push(deferred)
        apply(entry, transitions.signalApplied, deferred.completedAt, input)
        return Effect.succeed({ applied: true, record: deferred })
      }),

    sendMessage: (executionId, message) =>
      Effect.suspend((): Effect.Effect<MessageSent, WorkflowError> => {
        const entry = entries.get(executionId)
        if (entry === undefined) return Effect.fail(missing(executionId, `send a message to`))
        const { interruptRequested, status } = entry.record
        if (!live.has(status) || interruptRequested) {
          return Effect.succeed({ _tag: "Refused", status, interruptRequested })
        }
        const deferreds = (entry.deferreds ??= [])
        let index = 0
        for (const d of deferreds) index = Math.max(index, messageIndex(d.name, message.prefix))
        const record = { name: `${message.prefix}${index + 1}`, exit: message.exit, completedAt: message.sentAt }
        deferreds.push(record)
        apply(entry, transitions.signalApplied, message.sentAt, { deferred: record.name })
        return Effect.succeed({ _tag: "Sent", index: index + 1, record })
      }),

    recordDeferred: (executionId, fence, deferred) =>
      Effect.suspend(() => {
        const entry = held(executionId, fence)
        if (entry instanceof WorkflowError) return Effect.fail(entry)
        const deferreds = (entry.deferreds ??= [])
        const existing = deferreds.find((d) => d.name === deferred.name)
        if (existing !== undefined) return Effect.succeed(existing)
        deferreds.push(deferred)
        return Effect.succeed(deferred)
      }),

    suspend: (executionId, fence, expectedWakeSeq, wakeAt, at) =>
      Effect.suspend(() => {
        const entry = held(executionId, fence)
        if (entry instanceof WorkflowError) return Effect.fail(entry)
        if (entry.record.wakeSeq !== expectedWakeSeq) return Effect.succeed(false)
        apply(entry, transitions.suspend, at, { wakeAt })
        return Effect.succeed(true)
      }),

    complete: (executionId, fence, completion) =>
      Effect.suspend(() => {
        const entry = held(executionId, fence)
        if (entry instanceof WorkflowError) return Effect.fail(entry)
        apply(entry, transitions.complete, completion.at, { completion })
        open.delete(executionId)
        unlink(entry.record)
        return Effect.void
      }),

    wake: (executionId, at) =>
      Effect.sync(() => {
        const entry = entries.get(executionId)
        if (entry === undefined || !admits(transitions.wake, entry.record.status)) return false
        apply(entry, transitions.wake, at)
        return true
      }),

    requestInterrupt: (executionId, at) =>
      Effect.sync(() => {
        const entry = entries.get(executionId)
        if (entry === undefined || !admits(transitions.requestInterrupt, entry.record.status)) return false
        apply(entry, transitions.requestInterrupt, at)
        return true
      }),

    reopen: (executionId, at) =>
      Effect.sync(() => {
        const entry = entries.get(executionId)
        if (entry === undefined || !admits(transitions.reopen, entry.record.status)) return false
        apply(entry, transitions.reopen, at)
        open.add(executionId)
        link(entry.record)
        return true
      }),

    retry: (executionId, request) =>
      Effect.sync(() => {
        const entry = entries.get(executionId)
        if (entry === undefined || !admits(transitions.retry, entry.record.status)) return false
        if (entry.record.updatedAt !== request.expectedUpdatedAt) return false
        const index = (entry.attemptIndex ??= new Map())
        if (request.markers.some((m) => index.has(`${m.attempt}:${m.name}`))) return false
        for (const marker of request.markers) {
          index.set(`${marker.attempt}:${marker.name}`, marker)
          ;(entry.attempts ??= []).push(marker)
        }
        apply(entry, transitions.retry, request.at, { detail: request.detail })
        open.add(executionId)
        link(entry.record)
        return true
      }),

    fork: (request) =>
      Effect.sync(() => {
        const { execution } = request
        const existing = entries.get(execution.executionId)
        if (existing !== undefined) return { created: false, record: existing.record }
        const record = newRecord(execution)
        const attempts = [...request.attempts]
        entries.set(execution.executionId, {
          record,
          attempts: attempts.length === 0 ? undefined : attempts,
          attemptIndex: attempts.length === 0 ? undefined : new Map(attempts.map((a) => [`${a.attempt}:${a.name}`, a])),
          deferreds: request.deferreds.length === 0 ? undefined : [...request.deferreds],
          clocks: request.clocks.length === 0 ? undefined : [...request.clocks],
          events: [{ kind: "started", at: execution.at, detail: request.startedDetail }],
          owner: undefined,
          fence: 0,
          leaseUntil: 0
        })
        open.add(execution.executionId)
        link(record)
        const source = entries.get(request.source)
        if (source !== undefined) (source.events ??= []).push({ kind: "restarted", at: execution.at, detail: request.sourceDetail })
        return { created: true, record }
      }),

    appendEvent: (executionId, fence, event) =>
      Effect.suspend(() => {
        const entry = held(executionId, fence)
        if (entry instanceof WorkflowError) return Effect.fail(entry)
        ;(entry.events ??= []).push(event)
        return Effect.void
      }),

    renew: (owner, claims, now) =>
      Effect.sync(() =>
        claims.map(({ executionId, fence, inFlight }) => {
          const entry = entries.get(executionId)
          if (entry === undefined || entry.fence !== fence || entry.owner !== owner) {
            return { held: false, interruptRequested: false }
          }
          entry.leaseUntil = now + leaseMs
          entry.inFlight = inFlight
          return { held: true, interruptRequested: entry.record.interruptRequested }
        })
      ),

    runnable: (now, limit, workflows, versions) =>
      Effect.sync(() => {
        fireDue(now, workflows)
        return claimable(now, limit, workflows, versions).map((entry) => ({
          executionId: entry.record.executionId,
          workflow: entry.record.workflow
        }))
      }),

    backlog: (now, workflows) =>
      Effect.sync(() => {
        const counts = new Map<string, number>()
        for (const id of open) {
          const entry = entries.get(id)!
          const { status, wakeAt, workflow } = entry.record
          if (!workflows.includes(workflow)) continue
          const free = admits(transitions.claim, status) && (entry.owner === undefined || entry.leaseUntil <= now)
          const due = admits(transitions.timerFired, status) && wakeAt !== undefined && wakeAt <= now
          if (free || due) counts.set(workflow, (counts.get(workflow) ?? 0) + 1)
        }
        return [...counts].map(([workflow, runnable]) => ({ workflow, runnable }))
      }),

    nextWakeAt: (workflows) =>
      Effect.sync(() => {
        let next: number | undefined
        for (const id of open) {
          const record = entries.get(id)!.record
          if (!workflows.includes(record.workflow)) continue
          const wakeAt = admits(transitions.timerFired, record.status) ? record.wakeAt : undefined
          if (wakeAt !== undefined && (next === undefined || wakeAt < next)) next = wakeAt
        }
        return Option.fromNullishOr(next)
      }),

    enqueue: (item) =>
      Effect.sync(() => {
        let queue = queues.get(item.queue)
        if (queue === undefined) queues.set(item.queue, (queue = new Map()))
        if (!queue.has(item.itemId)) queue.set(item.itemId, { item, owner: undefined, leaseUntil: 0 })
      }),

    claimQueueItems: (queueName, owner, limit, now) =>
      Effect.sync(() => {
        const out: Array<QueueItem> = []
        const queue = queues.get(queueName)
        if (queue === undefined) return out
        for (const entry of queue.values()) {
          if (out.length >= limit) break
          if (entry.owner !== undefined && entry.leaseUntil > now) continue
          entry.owner = owner
          entry.leaseUntil = now + leaseMs
          out.push(entry.item)
        }
        return out
      }),

    renewQueueItem: (queueName, itemId, owner, now) =>
      Effect.sync(() => {
        const entry = queues.get(queueName)?.get(itemId)
        if (entry === undefined || entry.owner !== owner) return false
        entry.leaseUntil = now + leaseMs
        return true
      }),

    ackQueueItem: (queueName, itemId, owner) =>
      Effect.sync(() => {
        const queue = queues.get(queueName)
        if (queue?.get(itemId)?.owner !== owner) return false
        return queue.delete(itemId)
      }),

    ...MemoryInspection.make(entries, open),

    schedules: MemorySchedules.make(),

    signingKey: (generate) => Effect.sync(() => (key ??= generate()))
  }
  return store
}

/** A fresh memory store as a Layer. */
export const layer = (options: Options = {}): Layer.Layer<WorkflowStore> =>
  Layer.sync(WorkflowStore, () => make(options))

/** The error of a write to an execution the store does not hold. */
const missing = (executionId: string, to: string): WorkflowError =>
  new WorkflowError({ reason: "ExecutionNotFound", executionId, message: `No execution ${executionId} to ${to}` })

/** The index of a channel message named `<prefix><digits>`, or 0 for any other name. */
const messageIndex = (name: string, prefix: string): number => {
  if (!name.startsWith(prefix)) return 0
  const digits = name.slice(prefix.length)
  return /^[0-9]{1,15}$/.test(digits) ? Number(digits) : 0
}
