// vectors.js: loads the hash and assignment vectors shared with the C tests
// (tests/vectors/assignment.json, generated from engine/ by the C side).
// Returns null when the file is missing (the tests then fail, loudly).
import { readFileSync, existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const VECTORS = fileURLToPath(new URL('../../../../tests/vectors/assignment.json', import.meta.url))

export function loadVectors () {
  if (!existsSync(VECTORS)) return null
  return JSON.parse(readFileSync(VECTORS, 'utf8'))
}
