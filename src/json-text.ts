// JSON text a user gave (a proposal, a configuration, an app bundle): parsed as JSON.parse does,
// but a syntax error says why on one line, as every CLI message is one line.

/** JSON.parse; a SyntaxError's message shows the text it quotes with its line breaks escaped. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    // V8 quotes the text near the error as it is ("not json⏎"): escape what would break the line.
    throw new SyntaxError(error.message.replace(/[\u0000-\u001f\u2028\u2029]/g, (c) => JSON.stringify(c).slice(1, -1)));
  }
}
