/**
 * The stored Exit format against golden vectors: every `bytes` below is what effect 3.22's
 * `Schema.Exit({ success, failure, defect: Schema.Defect })` wrote for the same value (recorded by
 * running effect 3.22.4), so an Exit written now reads the same, and one written then reads back.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { NonDeterminismError, WorkflowError } from "../packages/workflow/src/WorkflowError.js"
import * as Codec from "../packages/workflow/src/internal/codec.js"
import * as ExitEncoding from "../packages/workflow/src/internal/exitEncoding.js"
import * as InvalidInput from "../packages/workflow/src/internal/invalidInput.js"

describe("codec: encoding an Exit writes what effect 3.22 wrote", () => {
  for (const vector of encodeVectors()) {
    it(vector.name, () => {
      const encoded = vector.codec.encodeExit(vector.exit)
      assert.isTrue(Result.isSuccess(encoded))
      assert.strictEqual(JSON.stringify(Result.getOrThrow(encoded)), vector.bytes)
    })
  }
})

describe("codec: decoding what effect 3.22 wrote", () => {
  for (const vector of [...encodeVectors(), ...decodeOnlyVectors()]) {
    it(vector.name, () => {
      const decoded = vector.codec.decodeExit(JSON.parse(vector.bytes))
      assert.isTrue(Result.isSuccess(decoded), Result.isFailure(decoded) ? decoded.failure.message : "")
      assert.deepStrictEqual(shape(Result.getOrThrow(decoded)), shape(vector.decoded ?? vector.exit))
    })
  }
})

describe("codec: round trips", () => {
  it("a stored Exit read and written again is the same text (single-reason causes, successes)", () => {
    for (const vector of encodeVectors()) {
      const decoded = Result.getOrThrow(vector.codec.decodeExit(JSON.parse(vector.bytes)))
      assert.strictEqual(JSON.stringify(Result.getOrThrow(vector.codec.encodeExit(decoded))), vector.bytes, vector.name)
    }
  })

  it("a tree of several reasons is read flattened and written as a left-nested Sequential tree", () => {
    const parallel = `{"_tag":"Failure","cause":{"_tag":"Parallel","left":{"_tag":"Fail","error":"a"},"right":{"_tag":"Parallel","left":{"_tag":"Empty"},"right":{"_tag":"Die","defect":"b"}}}}`
    const decoded = Result.getOrThrow(stringError.decodeExit(JSON.parse(parallel)))
    assert.strictEqual(
      JSON.stringify(Result.getOrThrow(stringError.encodeExit(decoded))),
      `{"_tag":"Failure","cause":{"_tag":"Sequential","left":{"_tag":"Fail","error":"a"},"right":{"_tag":"Die","defect":"b"}}}`
    )
  })

  it("a decoded Error defect keeps effect 3's form: name, message, empty stack, the stored object as cause", () => {
    const stored = { name: "Boom", message: "kaput", extra: 1 }
    const exit = Result.getOrThrow(voidNever.decodeExit({ _tag: "Failure", cause: { _tag: "Die", defect: stored } }))
    const defect = Exit.isFailure(exit) && Cause.isDieReason(exit.cause.reasons[0]!) ? exit.cause.reasons[0].defect : undefined
    assert.instanceOf(defect, Error)
    assert.strictEqual((defect as Error).name, "Boom")
    assert.strictEqual((defect as Error).message, "kaput")
    assert.strictEqual((defect as Error).stack, "")
    assert.deepStrictEqual((defect as Error).cause, stored)
  })
})

describe("codec: stored-JSON checks and errors", () => {
  it("isDefect, isSuccess and the timeout marker read the stored JSON", () => {
    assert.isTrue(ExitEncoding.isSuccess(JSON.parse(`{"_tag":"Success"}`)))
    assert.isFalse(ExitEncoding.isDefect(JSON.parse(`{"_tag":"Success"}`)))
    assert.isTrue(ExitEncoding.isDefect(JSON.parse(`{"_tag":"Failure","cause":{"_tag":"Die","defect":"x"}}`)))
    assert.isTrue(
      ExitEncoding.isDefect(
        JSON.parse(
          `{"_tag":"Failure","cause":{"_tag":"Parallel","left":{"_tag":"Fail","error":"a"},"right":{"_tag":"Die","defect":"b"}}}`
        )
      )
    )
    assert.isFalse(ExitEncoding.isDefect(JSON.parse(`{"_tag":"Failure","cause":{"_tag":"Fail","error":"a"}}`)))
    assert.isTrue(ExitEncoding.isTimedOut(ExitEncoding.timedOut))
    assert.isFalse(ExitEncoding.isTimedOut(JSON.parse(`{"_tag":"Success"}`)))
  })

  it("a result that JSON cannot hold is refused naming the field", () => {
    const codec = Codec.make(undefined, Schema.Struct({ n: Schema.Number }), Schema.Never)
    const encoded = codec.encodeExit(Exit.succeed({ n: Number.NaN }))
    assert.isTrue(Result.isFailure(encoded))
    const error = InvalidInput.invalid("InvalidResult", "The result", (encoded as any).failure, { workflow: "W" })
    assert.strictEqual(error.field, "n")
    assert.include(error.message, `The result of workflow "W" at field "n" is invalid: a value JSON can hold`)
    assert.include(error.message, "the number NaN")
  })

  it("a bad payload names the field and what was expected, as effect 3's messages did", () => {
    const codec = Codec.make(Schema.Struct({ id: Schema.String }), Schema.Void, Schema.Never)
    const wrong = codec.decodePayload({ id: 1 })
    const missing = codec.decodePayload({})
    assert.isTrue(Result.isFailure(wrong) && Result.isFailure(missing))
    const a = InvalidInput.invalid("InvalidPayload", "The payload", (wrong as any).failure, { workflow: "W" })
    const b = InvalidInput.invalid("InvalidPayload", "The payload", (missing as any).failure, { workflow: "W" })
    assert.strictEqual(a.message, `The payload of workflow "W" at field "id" is invalid: Expected string, actual 1`)
    assert.strictEqual(b.message, `The payload of workflow "W" at field "id" is invalid: is missing`)
    assert.strictEqual(a.reason, "InvalidPayload")
  })

  it("a stored result that no longer decodes names its path from the Exit", () => {
    const decoded = structCodec.decodeExit({ _tag: "Success", value: { a: "x" } })
    const error = InvalidInput.invalid("InvalidResult", "The stored result", (decoded as any).failure, { workflow: "W" })
    assert.strictEqual(error.field, "value.a")
    const cause = stringError.decodeExit({ _tag: "Failure", cause: { _tag: "Sequential", left: { _tag: "Empty" }, right: { _tag: "Fail", error: 5 } } })
    assert.strictEqual(InvalidInput.invalid("InvalidResult", "r", (cause as any).failure, {}).field, "cause.right.error")
    const tag = stringError.decodeExit({ _tag: "Failure", cause: { _tag: "Nope" } })
    assert.strictEqual(InvalidInput.invalid("InvalidResult", "r", (tag as any).failure, {}).field, "cause._tag")
  })

  it("a tagged error class is written with _tag last, where effect 3 put it", () => {
    const codec = Codec.make(undefined, Schema.Struct({ x: Schema.Array(Rejected) }), Rejected)
    assert.strictEqual(
      JSON.stringify(Result.getOrThrow(codec.encodeExit(Exit.fail(new Rejected({ reason: "over budget ✗" }))))),
      `{"_tag":"Failure","cause":{"_tag":"Fail","error":{"reason":"over budget ✗","_tag":"Rejected"}}}`
    )
    assert.strictEqual(
      JSON.stringify(Result.getOrThrow(codec.encodeExit(Exit.succeed({ x: [new Rejected({ reason: "r" })] })))),
      `{"_tag":"Success","value":{"x":[{"reason":"r","_tag":"Rejected"}]}}`
    )
    assert.strictEqual(
      JSON.stringify(Result.getOrThrow(Codec.make(undefined, Tagged, Schema.Never).encodeExit(Exit.succeed(Tagged.make({ a: 1 }))))),
      `{"_tag":"Success","value":{"_tag":"T","a":1}}`
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Vectors (bytes recorded with effect 3.22.4)

class Rejected extends Schema.TaggedError<Rejected>()("Rejected", { reason: Schema.String }) {}
const Tagged = Schema.TaggedStruct("T", { a: Schema.Number })

const Struct = Schema.Struct({ a: Schema.Number, d: Schema.optional(Schema.NumberFromString) })
const voidNever = Codec.make(undefined, Schema.Void, Schema.Never)
const stringError = Codec.make(undefined, Schema.Void, Schema.String)
const structCodec = Codec.make(undefined, Struct, Schema.Struct({ code: Schema.Number }))
const workflowErrorCodec = Codec.make(undefined, Schema.Number, WorkflowError)
const defectError = Codec.make(undefined, Schema.Void, Schema.Defect())

interface Vector {
  readonly name: string
  readonly codec: Codec.Codec
  readonly exit: Exit.Exit<unknown, unknown>
  readonly bytes: string
  /** What the bytes read back as, where that is not `exit` itself. */
  readonly decoded?: Exit.Exit<unknown, unknown>
}

class MyError extends Error {
  constructor(message: string) {
    super(message)
    this.name = "MyError"
  }
}
class Plain extends Error {}

const failure = (cause: string) => `{"_tag":"Failure","cause":${cause}}`
const diedAs = (defect: unknown) => Exit.die(defect)

function encodeVectors(): Array<Vector> {
  return [
    { name: "success void", codec: voidNever, exit: Exit.void, bytes: `{"_tag":"Success"}` },
    {
      name: "success with a value, the success schema being Schema.Void (effect 3's Void let it through)",
      codec: voidNever,
      exit: Exit.succeed(5),
      bytes: `{"_tag":"Success","value":5}`
    },
    {
      name: "success struct with a transformed field",
      codec: structCodec,
      exit: Exit.succeed({ a: 1, d: 2 }),
      bytes: `{"_tag":"Success","value":{"a":1,"d":"2"}}`
    },
    { name: "success struct, optional field left out", codec: structCodec, exit: Exit.succeed({ a: 1 }), bytes: `{"_tag":"Success","value":{"a":1}}` },
    { name: "fail with a string", codec: stringError, exit: Exit.fail("nope"), bytes: failure(`{"_tag":"Fail","error":"nope"}`) },
    {
      name: "fail with a struct",
      codec: structCodec,
      exit: Exit.fail({ code: 3 }),
      bytes: failure(`{"_tag":"Fail","error":{"code":3}}`)
    },
    {
      name: "fail with a WorkflowError (_tag last)",
      codec: workflowErrorCodec,
      exit: Exit.fail(new WorkflowError({ reason: "InvalidPayload", message: "m", workflow: "W", field: "f" })),
      bytes: failure(
        `{"_tag":"Fail","error":{"reason":"InvalidPayload","message":"m","workflow":"W","field":"f","_tag":"WorkflowError"}}`
      )
    },
    {
      name: "fail with an Error, the error schema being Schema.Defect() (effect 3's Schema.Defect form)",
      codec: defectError,
      exit: Exit.fail(new Error("x", { cause: "not stored" })),
      bytes: failure(`{"_tag":"Fail","error":{"name":"Error","message":"x"}}`),
      decoded: Exit.fail(decodedError("Error", "x"))
    },
    {
      name: "fail with a number, the error schema being Schema.Defect() (written as text)",
      codec: defectError,
      exit: Exit.fail(42),
      bytes: failure(`{"_tag":"Fail","error":"42"}`),
      decoded: Exit.fail("42")
    },
    {
      name: "die with an Error",
      codec: voidNever,
      exit: diedAs(new Error("kaput")),
      bytes: failure(`{"_tag":"Die","defect":{"name":"Error","message":"kaput"}}`),
      decoded: diedAs(decodedError("Error", "kaput"))
    },
    {
      name: "die with an Error subclass that sets its name",
      codec: voidNever,
      exit: diedAs(new MyError("mine")),
      bytes: failure(`{"_tag":"Die","defect":{"name":"MyError","message":"mine"}}`),
      decoded: diedAs(decodedError("MyError", "mine"))
    },
    {
      name: "die with an Error subclass that does not",
      codec: voidNever,
      exit: diedAs(new Plain("plain")),
      bytes: failure(`{"_tag":"Die","defect":{"name":"Error","message":"plain"}}`),
      decoded: diedAs(decodedError("Error", "plain"))
    },
    {
      name: "die with an Error with an empty message",
      codec: voidNever,
      exit: diedAs(new Error()),
      bytes: failure(`{"_tag":"Die","defect":{"name":"Error","message":""}}`),
      decoded: diedAs(decodedError("Error", ""))
    },
    {
      name: "die with a WorkflowError",
      codec: voidNever,
      exit: diedAs(new WorkflowError({ reason: "InvalidResult", message: "m" })),
      bytes: failure(`{"_tag":"Die","defect":{"name":"WorkflowError","message":"m"}}`),
      decoded: diedAs(decodedError("WorkflowError", "m"))
    },
    {
      name: "die with a NonDeterminismError",
      codec: voidNever,
      exit: diedAs(new NonDeterminismError({ workflow: "W", executionId: "e", activity: "a", message: "diverged" })),
      bytes: failure(`{"_tag":"Die","defect":{"name":"NonDeterminismError","message":"diverged"}}`),
      decoded: diedAs(decodedError("NonDeterminismError", "diverged"))
    },
    { name: "die with a string", codec: voidNever, exit: diedAs("just a string"), bytes: failure(`{"_tag":"Die","defect":"just a string"}`) },
    {
      name: "die with a number (written as text)",
      codec: voidNever,
      exit: diedAs(42),
      bytes: failure(`{"_tag":"Die","defect":"42"}`),
      decoded: diedAs("42")
    },
    {
      name: "die with a boolean (written as text)",
      codec: voidNever,
      exit: diedAs(true),
      bytes: failure(`{"_tag":"Die","defect":"true"}`),
      decoded: diedAs("true")
    },
    {
      name: "die with an object (written as JSON text)",
      codec: voidNever,
      exit: diedAs({ foo: 1, bar: [1, 2] }),
      bytes: failure(`{"_tag":"Die","defect":"{\\"foo\\":1,\\"bar\\":[1,2]}"}`),
      decoded: diedAs(`{"foo":1,"bar":[1,2]}`)
    },
    {
      name: "die with an object with a message (written as JSON text, not as an Error)",
      codec: voidNever,
      exit: diedAs({ message: "hi", other: 1 }),
      bytes: failure(`{"_tag":"Die","defect":"{\\"message\\":\\"hi\\",\\"other\\":1}"}`),
      decoded: diedAs(`{"message":"hi","other":1}`)
    },
    {
      name: "die with an object with its own toString",
      codec: voidNever,
      exit: diedAs({ toString: () => "custom" }),
      bytes: failure(`{"_tag":"Die","defect":"custom"}`),
      decoded: diedAs("custom")
    },
    {
      name: "die with an object met twice inside (the second left out)",
      codec: voidNever,
      exit: diedAs(((shared) => ({ p: shared, q: shared }))({ x: 1 })),
      bytes: failure(`{"_tag":"Die","defect":"{\\"p\\":{\\"x\\":1}}"}`),
      decoded: diedAs(`{"p":{"x":1}}`)
    },
    {
      name: "die with a cycle",
      codec: voidNever,
      exit: diedAs(((o: any) => ((o.self = o), o))({ a: 1 })),
      bytes: failure(`{"_tag":"Die","defect":"{\\"a\\":1}"}`),
      decoded: diedAs(`{"a":1}`)
    },
    {
      name: "die with an array",
      codec: voidNever,
      exit: diedAs([1, "a"]),
      bytes: failure(`{"_tag":"Die","defect":"[1,\\"a\\"]"}`),
      decoded: diedAs(`[1,"a"]`)
    },
    { name: "die with null", codec: voidNever, exit: diedAs(null), bytes: failure(`{"_tag":"Die","defect":"null"}`), decoded: diedAs("null") },
    { name: "die with undefined", codec: voidNever, exit: diedAs(undefined), bytes: failure(`{"_tag":"Die"}`) },
    {
      name: "interrupt by a fiber (no start time in effect 4: 0)",
      codec: voidNever,
      exit: Exit.failCause(Cause.interrupt(7)),
      bytes: failure(`{"_tag":"Interrupt","fiberId":{"_tag":"Runtime","id":7,"startTimeMillis":0}}`)
    },
    {
      name: "interrupt without a fiber",
      codec: voidNever,
      exit: Exit.failCause(Cause.interrupt()),
      bytes: failure(`{"_tag":"Interrupt","fiberId":{"_tag":"None"}}`)
    },
    { name: "empty cause", codec: voidNever, exit: Exit.failCause(Cause.empty), bytes: failure(`{"_tag":"Empty"}`) },
    {
      name: "a failure then a defect (Sequential)",
      codec: stringError,
      exit: Exit.failCause(Cause.fromReasons([Cause.makeFailReason("a"), Cause.makeDieReason(new Error("b"))])),
      bytes: failure(
        `{"_tag":"Sequential","left":{"_tag":"Fail","error":"a"},"right":{"_tag":"Die","defect":{"name":"Error","message":"b"}}}`
      ),
      decoded: Exit.failCause(Cause.fromReasons([Cause.makeFailReason("a"), Cause.makeDieReason(decodedError("Error", "b"))]))
    },
    {
      name: "a failure then two finalizer defects (left-nested Sequential)",
      codec: stringError,
      exit: Exit.failCause(Cause.fromReasons([Cause.makeFailReason("a"), Cause.makeDieReason("f1"), Cause.makeDieReason("f2")])),
      bytes: failure(
        `{"_tag":"Sequential","left":{"_tag":"Sequential","left":{"_tag":"Fail","error":"a"},"right":{"_tag":"Die","defect":"f1"}},"right":{"_tag":"Die","defect":"f2"}}`
      )
    },
    {
      name: "an interrupt then a finalizer defect",
      codec: stringError,
      exit: Exit.failCause(Cause.fromReasons([Cause.makeInterruptReason(7), Cause.makeDieReason("f")])),
      bytes: failure(
        `{"_tag":"Sequential","left":{"_tag":"Interrupt","fiberId":{"_tag":"Runtime","id":7,"startTimeMillis":0}},"right":{"_tag":"Die","defect":"f"}}`
      )
    }
  ]
}

function decodeOnlyVectors(): Array<Vector> {
  return [
    {
      name: "an interrupt with a start time (the fiber's id is kept)",
      codec: voidNever,
      bytes: failure(`{"_tag":"Interrupt","fiberId":{"_tag":"Runtime","id":82,"startTimeMillis":1796321062914}}`),
      exit: Exit.failCause(Cause.interrupt(82))
    },
    {
      name: "an interrupt by a composite fiber id (one interrupt per fiber)",
      codec: voidNever,
      bytes: failure(
        `{"_tag":"Interrupt","fiberId":{"_tag":"Composite","left":{"_tag":"Runtime","id":7,"startTimeMillis":1700000000123},"right":{"_tag":"Runtime","id":8,"startTimeMillis":1700000000456}}}`
      ),
      exit: Exit.failCause(Cause.fromReasons([Cause.makeInterruptReason(7), Cause.makeInterruptReason(8)]))
    },
    {
      name: "parallel failures (flattened)",
      codec: stringError,
      bytes: failure(`{"_tag":"Parallel","left":{"_tag":"Fail","error":"a"},"right":{"_tag":"Fail","error":"b"}}`),
      exit: Exit.failCause(Cause.fromReasons([Cause.makeFailReason("a"), Cause.makeFailReason("b")]))
    },
    {
      name: "a nested tree (flattened left to right)",
      codec: stringError,
      bytes: failure(
        `{"_tag":"Sequential","left":{"_tag":"Parallel","left":{"_tag":"Fail","error":"a"},"right":{"_tag":"Interrupt","fiberId":{"_tag":"Runtime","id":7,"startTimeMillis":1700000000123}}},"right":{"_tag":"Die","defect":"c"}}`
      ),
      exit: Exit.failCause(Cause.fromReasons([Cause.makeFailReason("a"), Cause.makeInterruptReason(7), Cause.makeDieReason("c")]))
    },
    {
      name: "a tagged error stored with _tag last",
      codec: Codec.make(undefined, Schema.Void, Rejected),
      bytes: failure(`{"_tag":"Fail","error":{"reason":"over budget ✗","_tag":"Rejected"}}`),
      exit: Exit.fail(new Rejected({ reason: "over budget ✗" }))
    },
    {
      name: "an Error defect with a stack",
      codec: voidNever,
      bytes: failure(`{"_tag":"Die","defect":{"name":"X","message":"m","stack":"S"}}`),
      exit: diedAs(decodedError("X", "m", "S", { name: "X", message: "m", stack: "S" }))
    },
    {
      name: "a non-string defect effect 3 never wrote (read as text)",
      codec: voidNever,
      bytes: failure(`{"_tag":"Die","defect":42}`),
      exit: diedAs("42")
    }
  ]
}

/** An Error as effect 3 read one back. */
function decodedError(name: string, message: string, stack = "", cause?: object): Error {
  const error = new Error(message, { cause: cause ?? { name, message } })
  error.name = name
  error.stack = stack
  return error
}

/** An Exit as plain data, for comparison (Errors by name, message, stack and cause; tagged errors by fields). */
function shape(exit: Exit.Exit<unknown, unknown>): unknown {
  const value = (u: unknown): unknown =>
    u instanceof WorkflowError || u instanceof Rejected
      ? { class: u.constructor.name, ...u }
      : u instanceof Error
      ? { error: u.name, message: u.message, stack: u.stack, cause: u.cause }
      : u
  if (Exit.isSuccess(exit)) return { success: exit.value }
  return exit.cause.reasons.map((reason) =>
    Cause.isFailReason(reason)
      ? { fail: value(reason.error) }
      : Cause.isDieReason(reason)
      ? { die: value(reason.defect) }
      : { interrupt: reason.fiberId }
  )
}
