/**
 * Request bodies of the proxy's JSON routes, read as an attacker may send them: the media type is checked, the
 * size bounded before and while reading, the nesting measured on the text before parsing, then the schema decodes.
 */
import * as ByteSize from "effect/ByteSize"
import * as Effect from "effect/Effect"
import * as HttpIncomingMessage from "effect/http/HttpIncomingMessage"
import type * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as Schema from "effect/Schema"
import * as WorkflowProxy from "../WorkflowProxy.js"

/** Bounds on a request body. */
export interface Limits {
  readonly maxBodyBytes: number
  readonly maxDepth: number
}

/** The default bounds: 4 MiB, 64 levels of nesting. */
export const defaults: Limits = { maxBodyBytes: 4 * 1024 * 1024, maxDepth: 64 }

/** What reading a body can answer instead of its value. */
export type BodyError =
  | WorkflowProxy.HttpApiDecodeError
  | WorkflowProxy.PayloadTooLarge
  | WorkflowProxy.UnsupportedMediaType

/** Reads a JSON body and decodes it with `schema`, within `limits`. */
export const read = <S extends Schema.Top>(
  request: HttpServerRequest.HttpServerRequest,
  schema: S,
  limits: Limits
): Effect.Effect<S["Type"], BodyError, S["DecodingServices"]> =>
  Effect.flatMap(readJson(request, limits), (json) =>
    Effect.mapError(
      Schema.decodeUnknownEffect(Schema.toCodecJson(schema))(json, parseOptions),
      WorkflowProxy.HttpApiDecodeError.fromSchemaError
    ))

/** The rejected value goes into the issue's message ("Expected string, got 7"), as it did on Effect 3. */
export const parseOptions = { reportInput: true } as const

/** Reads a body as JSON: 415 unless it says it is JSON, 413 past the size limit, 400 when too deep or malformed. */
export const readJson = (
  request: HttpServerRequest.HttpServerRequest,
  limits: Limits
): Effect.Effect<unknown, BodyError> => {
  const type = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
  if (type !== "application/json") {
    return Effect.fail(
      new WorkflowProxy.UnsupportedMediaType({
        message: `Expected Content-Type: application/json, got ${type === "" ? "none" : JSON.stringify(cut(type))}`
      })
    )
  }
  const length = Number(request.headers["content-length"] ?? "0")
  if (Number.isFinite(length) && length > limits.maxBodyBytes) return Effect.fail(tooLarge(limits))
  return request.text.pipe(
    Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(limits.maxBodyBytes)),
    Effect.mapError((error): BodyError =>
      (error as any)?.reason?.reason === "BodyTooLarge"
        ? tooLarge(limits)
        : badBody("The request body could not be read")
    ),
    Effect.flatMap((text) => {
      const deep = tooDeep(text, limits.maxDepth)
      if (deep) return Effect.fail(badBody(`The request body nests deeper than ${limits.maxDepth} levels`))
      try {
        return Effect.succeed(JSON.parse(text) as unknown)
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        return Effect.fail(badBody(`The request body is not valid JSON: ${cut(reason)}`))
      }
    })
  )
}

/** Whether JSON text opens more than `max` arrays or objects at once (brackets inside strings do not count). */
export const tooDeep = (text: string, max: number): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // a backslash escapes the next character
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      if (++depth > max) return true
    } else if (c === 93 || c === 125) depth--
  }
  return false
}

const tooLarge = (limits: Limits) =>
  new WorkflowProxy.PayloadTooLarge({ message: `The request body is over the limit of ${limits.maxBodyBytes} bytes` })

const badBody = (message: string) => new WorkflowProxy.HttpApiDecodeError({ issues: [], message })

const cut = (text: string): string => text.length <= 200 ? text : `${text.slice(0, 200)}…`
