// Small text helpers for the views: links in bodies, initials avatars, local times.

export type Part = { text: string; href?: string };

// http(s), mailto and www. only: never javascript: or data: (the server UI's rule, text.js).
const LINK = /\b(?:https?:\/\/|mailto:|www\.)[^\s<>"]+/gi;

/** A body split into text and links, to render with {#each}: Svelte escapes every part. */
export function linkParts(body: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const match of body.matchAll(LINK)) {
    const url = match[0].replace(/[.,;:!?)\]]+$/, "");
    const start = match.index ?? 0;
    if (start > last) parts.push({ text: body.slice(last, start) });
    parts.push({ text: url, href: url.toLowerCase().startsWith("www.") ? `https://${url}` : url });
    last = start + url.length;
  }
  if (last < body.length) parts.push({ text: body.slice(last) });
  return parts;
}

/** A reply's quote of a message as the server cuts it (chat/wire.py): the first line that is
 * not blank, at most 120 code points. */
export function excerpt(body: string): string {
  const line = body.split("\n").map((text) => text.trim()).find(Boolean) ?? "";
  const points = [...line];
  return points.length > 120 ? `${points.slice(0, 119).join("").trimEnd()}…` : line;
}

export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0]!, words[words.length - 1]!] : words;
  return letters.map((word) => [...word][0]?.toUpperCase() ?? "").join("") || "?";
}

/** A stable colour per person, the same hue for the same username. */
export function hue(username: string): number {
  let hash = 0;
  for (const char of username) hash = (hash * 31 + char.codePointAt(0)!) >>> 0;
  return hash % 360;
}

export function clock(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function day(iso: string): string {
  return new Date(iso).toLocaleDateString([], { weekday: "long", month: "long", day: "numeric" });
}
