/**
 * effect 3's key order in encoded values: effect 4's tagged classes write `_tag` first, effect 3's wrote it
 * after the fields; the reorder of a schema is compiled once and cached by AST.
 */
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import { isRecord } from "./issues.js"

/** Rewrites an encoded value into effect 3's key order. */
export type Reorder = (encoded: unknown) => unknown

const reorders = new WeakMap<SchemaAST.AST, Reorder | null>()

/**
 * What puts the encoded form of `ast` in effect 3's key order, or undefined if it already is: effect 4's
 * tagged classes (`Schema.TaggedError`, `Schema.TaggedClass`: a class over a struct whose first field is
 * `_tag`) encode `_tag` first, effect 3's wrote it after the fields. Such a class anywhere in the schema
 * (a field, an element, a union member, a suspended schema) has its `_tag` moved last; nothing else moves.
 * Decoding does not care for key order. (A `Schema.Class` that declares `_tag` as its first field is taken
 * for a tagged class too: effect 3 would have kept it first.)
 */
export const keyOrder = (ast: SchemaAST.AST): Reorder | undefined => {
  const building = new Map<SchemaAST.AST, { f: Reorder | undefined }>()
  const build = (ast: SchemaAST.AST): Reorder | undefined => {
    const cached = reorders.get(ast)
    if (cached !== undefined) return cached ?? undefined
    const open = building.get(ast)
    // A recursive schema met again while its reorder is built: look it up when a value comes.
    if (open !== undefined) return (v) => (open.f === undefined ? v : open.f(v))
    const cell: { f: Reorder | undefined } = { f: undefined }
    building.set(ast, cell)
    cell.f = compile(ast)
    building.delete(ast)
    reorders.set(ast, cell.f ?? null)
    return cell.f
  }
  const compile = (ast: SchemaAST.AST): Reorder | undefined => {
    if (ast.encoding !== undefined) {
      const to = ast.encoding[ast.encoding.length - 1]!.to
      const inner = build(to)
      const tagged = SchemaAST.isDeclaration(ast) && SchemaAST.isObjects(to) && to.encoding === undefined &&
        to.propertySignatures.length > 1 && to.propertySignatures[0]!.name === "_tag"
      if (!tagged) return inner
      return inner === undefined ? tagLast : (v) => tagLast(inner(v))
    }
    switch (ast._tag) {
      case "Objects": {
        const fields: Array<readonly [PropertyKey, Reorder]> = []
        for (const ps of ast.propertySignatures) {
          const f = build(ps.type)
          if (f !== undefined) fields.push([ps.name, f])
        }
        const named = new Set(ast.propertySignatures.map((ps) => ps.name))
        const rest = ast.indexSignatures.map((is) => build(is.type)).find((f) => f !== undefined)
        if (fields.length === 0 && rest === undefined) return undefined
        return (v) => {
          if (!isRecord(v)) return v
          const out: Record<PropertyKey, unknown> = { ...v }
          for (const [name, f] of fields) if (name in out && out[name as string] !== undefined) out[name as string] = f(out[name as string])
          if (rest !== undefined) for (const key of Object.keys(out)) if (!named.has(key)) out[key] = rest(out[key])
          return out
        }
      }
      case "Arrays": {
        const elements = ast.elements.map(build)
        const rest = ast.rest.length > 0 ? build(ast.rest[0]!) : undefined
        if (rest === undefined && elements.every((f) => f === undefined)) return undefined
        return (v) =>
          Array.isArray(v) ? v.map((item, i) => {
            const f = i < elements.length ? elements[i] : rest
            return f === undefined ? item : f(item)
          }) : v
      }
      case "Union": {
        const members = ast.types.map((member) => ({ f: build(member), is: lazyIs(member) }))
        if (members.every((m) => m.f === undefined)) return undefined
        return (v) => {
          const member = members.find((m) => m.is()(v))
          return member?.f === undefined ? v : member.f(v)
        }
      }
      case "Suspend":
        return build(ast.thunk())
      default:
        return undefined
    }
  }
  return build(ast)
}

/** A guard for the encoded form of `ast`, compiled on first use. */
const lazyIs = (ast: SchemaAST.AST) => {
  let is: ((u: unknown) => boolean) | undefined
  return () => (is ??= Schema.is(Schema.make(SchemaAST.toEncoded(ast))))
}

/** An object with its `_tag` key moved last. */
const tagLast = (v: unknown): unknown => {
  if (!isRecord(v) || !("_tag" in v)) return v
  const { _tag, ...rest } = v
  return { ...rest, _tag }
}
