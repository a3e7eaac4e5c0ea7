/**
 * The execution-ID algorithm (part of the durable contract, checked by fixed vectors):
 * the first 32 hex digits of SHA-256 over WTF-8 `name`, a zero byte, WTF-8 `key`.
 */
import { createHash, type Hash } from "node:crypto"
import { isWellFormed } from "./nameRules.js"

/**
 * A stable id for (name, key): the same pair gives the same id in every process and version, and different
 * keys give different ids. A well-formed string's WTF-8 is its UTF-8, so those ids are what they always were.
 */
export const stableId = (name: string, key: string): string =>
  wtf8(wtf8(createHash("sha256"), name).update("\u0000", "utf8"), key).digest("hex").slice(0, 32)

/**
 * Feeds `text` as WTF-8: UTF-8, except that a lone surrogate is its own three bytes (ED A0 80 to ED BF BF),
 * which no well-formed text's UTF-8 holds; UTF-8 would make every one of them U+FFFD, so two keys one id.
 */
const wtf8 = (hash: Hash, text: string): Hash => {
  if (isWellFormed(text)) return hash.update(text, "utf8")
  let from = 0
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit < 0xd800 || unit > 0xdfff) continue
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0
    if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++
      continue
    }
    hash.update(text.slice(from, i), "utf8")
    hash.update(Uint8Array.of(0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)))
    from = i + 1
  }
  return hash.update(text.slice(from), "utf8")
}
