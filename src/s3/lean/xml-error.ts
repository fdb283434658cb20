// The errors of the XML reader (xml-walk.ts and its consumers), worded as the SDK's "Deserialization
// error", which diagnosis.ts reads as "not an S3 API" (an HTML page from a wrong endpoint, for example).

function xmlParseError(message: string): Error {
  return Object.assign(new Error(`Deserialization error: ${message}`), { name: 'XmlParseError' });
}

/** The answer is not well-formed XML, for the reason `why`. */
export function malformed(why: string): Error {
  return xmlParseError(`the answer is not well-formed XML (${why})`);
}

/** The answer is well-formed, but its root element is `<got>`, not the `<expected>` asked for. */
export function unexpectedRoot(expected: string, got: string): Error {
  return xmlParseError(`expected <${expected}>, got <${got}>`);
}
