// How deep JSON may nest for JSON.parse inside the sandbox. QuickJS's parser recurses once per level
// in WebAssembly, whose frames live on Node's own stack, not on the interpreter stack that QuickJS
// checks (see QUICKJS_STACK_BYTES_MAX): about 9,000 levels of `[` overflow Node's stack and leave the
// interpreter unusable. So JSON.parse refuses deeper text with a SyntaxError an app can catch, as it
// catches any bad JSON; real documents nest a few dozen levels.

/** Most levels of arrays and objects JSON.parse accepts in an app, a ninth of what breaks it. */
export const JSON_NESTING_MAX = 1024;

const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Whether arrays and objects in `text` nest deeper than `max`, brackets inside strings aside. */
export function jsonNestingExceeds(text: string, max: number = JSON_NESTING_MAX): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_ARRAY || code === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (code === CLOSE_ARRAY || code === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}
