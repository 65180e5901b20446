/** Shell-style word splitting for `cmd:`/`entrypoint:` strings (quotes and backslashes, no expansion). */

/** The words of `s`, or an error message for an unclosed quote or a trailing backslash. */
export function shellSplit(s: string): string[] | { error: string } {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && i + 1 < s.length && '"\\$`\n'.includes(s[i + 1])) cur += s[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\") {
      if (i + 1 >= s.length) return { error: "trailing backslash" };
      cur += s[++i];
      inWord = true;
    } else if (c === " " || c === "\t" || c === "\n") {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) return { error: `unclosed ${quote === "'" ? "single" : "double"} quote` };
  if (inWord) words.push(cur);
  return words;
}
