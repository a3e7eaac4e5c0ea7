/**
 * The journal names the runtime keeps for itself, in one place: every one starts with `@weft/`, which user
 * activities and deferreds may not use, so no user step can collide with a child, a race, a queue or a timer.
 */

/** The prefix of every name the runtime reserves. */
export const RESERVED = "@weft/"

/** Whether a journal name is the runtime's own (not a user activity or deferred). */
export const isReserved = (name: string): boolean => name.startsWith(RESERVED)

/** Throws when a user-given activity or deferred name is reserved: a definition-time bug. */
export const assertUserName = (kind: "Activity" | "Deferred" | "Channel", name: string): void => {
  if (isReserved(name)) throw new Error(`${kind} names starting with "${RESERVED}" are reserved: ${name}`)
}

/** Prefix of a child workflow's start (an activity whose result is the child's execution id). */
export const CHILD_START = `${RESERVED}start/`
/** Prefix of a child workflow's result (a deferred the child completes when it ends). */
export const CHILD_RESULT = `${RESERVED}child/`

/** The start step of child `childId` of `workflow`. */
export const childStart = (workflow: string, childId: string): string => `${CHILD_START}${workflow}/${childId}`
/** The deferred that receives the result of child `childId` of `workflow`. */
export const childResult = (workflow: string, childId: string): string => `${CHILD_RESULT}${workflow}/${childId}`
/** The child execution id a child-result deferred is named after. */
export const childOfResult = (name: string): string => name.slice(name.lastIndexOf("/") + 1)

/** Prefix of a note the body wrote (`Workflow.note`). */
export const NOTE = `${RESERVED}note/`
/** Note number `index` of an execution (in the order the body writes them). */
export const note = (index: number): string => `${NOTE}${index}`

/** Prefix of a compensation step. */
export const COMPENSATION = `${RESERVED}compensation/`
/** The step that runs compensation number `index` (in registration order). */
export const compensation = (index: number): string => `${COMPENSATION}${index}`
/** Prefix of a user's durable sleep. */
export const SLEEP = `${RESERVED}clock/`
/** A user's durable sleep. */
export const sleep = (name: string): string => `${SLEEP}${name}`
/** Prefix of a `raceAll`'s stored winner. */
export const RACE = `${RESERVED}race/`
/** The stored winner of a `raceAll`. */
export const race = (name: string): string => `${RACE}${name}`
/** Prefix of a queue hand-over step. */
export const ENQUEUE = `${RESERVED}enqueue/`
/** The step that hands a queue item over. */
export const enqueue = (queue: string, key: string): string => `${ENQUEUE}${queue}/${key}`
/** Prefix of the deferred a queue worker completes. */
export const QUEUE_RESULT = `${RESERVED}queue/`
/** The deferred a queue worker completes with an item's result. */
export const queueResult = (queue: string, key: string): string => `${QUEUE_RESULT}${queue}/${key}`
/** Prefix of a patch's marker (`Workflow.patched`). */
export const PATCH = `${RESERVED}patch/`
/** The marker of patch `id`: whether the execution took the patched path. */
export const patch = (id: string): string => `${PATCH}${id}`
/** The timer of a workflow's deadline (`Workflow.make({ deadline })`), stored on the execution's first run. */
export const DEADLINE = `${RESERVED}deadline`
/** Prefix of a channel's messages (`DurableChannel`) and of what its tokens name. */
export const CHANNEL = `${RESERVED}channel/`
/** What a token of channel `channel` names, in the place of a deferred. */
export const channel = (channel: string): string => `${CHANNEL}${channel}`
/** The prefix of channel `channel`'s messages: message k is the deferred `<prefix><k>`. */
export const channelPrefix = (channel: string): string => `${CHANNEL}${channel}/`
/** Message `index` of channel `channel` (the first is 1). */
export const channelMessage = (channel: string, index: number): string => `${channelPrefix(channel)}${index}`
/** The channel and index a message's deferred is named after, or undefined for another name. */
export const messageOf = (name: string): { readonly channel: string; readonly index: number } | undefined => {
  if (!name.startsWith(CHANNEL)) return undefined
  const cut = name.lastIndexOf("/")
  const index = Number(name.slice(cut + 1))
  return cut < CHANNEL.length || !Number.isSafeInteger(index) || index < 1
    ? undefined
    : { channel: name.slice(CHANNEL.length, cut), index }
}
/** The durable backoff before attempt `attempt` of an activity. */
export const retryWait = (activity: string, attempt: number): string => `${activity}/retry-${attempt}`
/** The timer of a deferred awaited with a timeout. */
export const timeout = (deferred: string): string => `${deferred}/timeout`
