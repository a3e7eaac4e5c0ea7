// `node --import ./record-loads.mjs app.mjs`: appends the URL of every module the program imports to the file
// named by WEFT_LOADS, so a test can tell which drivers a program loaded.
import { register } from "node:module"

register("./load-hooks.mjs", import.meta.url)
