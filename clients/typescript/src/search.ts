// Showing a search result's excerpt with its matches marked, from the offsets the server sends
// (docs/protocol.md, `search`): as text pieces, so no client ever turns the excerpt into HTML.

import type { SearchResult } from "./frames.js";

export interface ExcerptPart {
  text: string;
  match: boolean;
}

/** The excerpt cut into plain and matched pieces, in order; empty pieces are left out. */
export function excerptParts(result: Pick<SearchResult, "excerpt" | "matches">): ExcerptPart[] {
  // Offsets count code points; a JavaScript string indexes UTF-16 units.
  const points = Array.from(result.excerpt);
  const parts: ExcerptPart[] = [];
  let shown = 0;
  const ranges = [...result.matches].sort((a, b) => a.start - b.start);
  for (const { start, end } of ranges) {
    const from = Math.max(start, shown);
    const to = Math.min(end, points.length);
    if (from >= to) continue;
    if (from > shown) parts.push({ text: points.slice(shown, from).join(""), match: false });
    parts.push({ text: points.slice(from, to).join(""), match: true });
    shown = to;
  }
  if (shown < points.length) parts.push({ text: points.slice(shown).join(""), match: false });
  return parts;
}
