// Cheap structural checks on a raw JSON body before it is parsed: UTF-8 validity and nesting depth.
import { isUtf8 } from 'node:buffer';

export const MAX_JSON_DEPTH = 64;

/** Returns a reason string when the body must be refused, else null. One pass, no allocation. */
export function jsonGuard(buf: Buffer, maxDepth = MAX_JSON_DEPTH): string | null {
  if (!isUtf8(buf)) return 'body is not valid UTF-8';
  let depth = 0;
  let inStr = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inStr) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inStr = false;
      continue;
    }
    if (c === 0x22) inStr = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return `JSON nested deeper than ${maxDepth} levels`;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return null;
}
