// The add-keys message for a paste. A message is at most 1 MiB of UTF-8 but
// its text may be 1,000,000 characters (docs/protocol.md, "Limits"), and a
// Chinese character takes 3 bytes: a long paste may be too large to send as
// it is. Then the page sends only the keys found in it. No imports (the
// pattern and the limits come in), so Node's tests can run it as it is.

const encoder = new TextEncoder();

/** Whether the server takes `message`: its text's length, and its JSON's bytes of UTF-8. */
function fits(message, limits) {
  return message.text.length <= limits.maxTextLength && encoder.encode(JSON.stringify(message)).length <= limits.maxMessageBytes;
}

/**
 * The add-keys message for `text`: the text as it is when it fits, else every
 * match of `pattern` in it, in order. Repeats and format masks stay in, so the
 * server drops and counts them as it would in the whole text. Matches are
 * joined by a space, not a line break: "\n" is two bytes in JSON. Each match
 * is ASCII and stands apart from the next by at least one character, so the
 * keys of a text within the protocol's 1,000,000 characters take at most as
 * many bytes, within 1 MiB. Null when not even the keys fit (a text far
 * longer than that): the page says so and sends nothing.
 *
 * `limits`: { maxMessageBytes, maxTextLength }.
 */
export function addKeysMessage(id, text, pattern, limits) {
  const whole = { type: 'add-keys', id, text };
  if (fits(whole, limits)) return whole;
  const keys = { type: 'add-keys', id, text: Array.from(text.matchAll(pattern), (match) => match[0]).join(' ') };
  return fits(keys, limits) ? keys : null;
}
