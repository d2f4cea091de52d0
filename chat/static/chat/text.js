// Small pieces of presentation shared by the page's parts: local times, initials avatars and
// links made from message text. Everything here builds DOM nodes; nothing parses HTML.

const AVATAR_COLOURS = 8; // .avatar.hue-0 … .hue-7 in parley.css

// Shows each not-yet-shown <time datetime> in the reader's time zone: the clock for today,
// the date and the clock before that. Each is changed once, so that live regions stay quiet.
export function localTimes(root) {
  for (const time of root.querySelectorAll("time[datetime]:not([data-local])")) {
    const when = new Date(time.getAttribute("datetime"));
    if (Number.isNaN(when.getTime())) continue;
    const clock = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const today = when.toDateString() === new Date().toDateString();
    time.textContent = today ? clock : `${when.toLocaleDateString()} ${clock}`;
    time.title = when.toLocaleString();
    time.dataset.local = "";
  }
}

// Up to two letters from a display name: the first letters of its first and last words.
export function initials(name) {
  const words = (name || "?").trim().split(/\s+/u).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words.slice(0, 1);
  return letters.map((word) => [...word][0].toLocaleUpperCase()).join("") || "?";
}

// A colour that stays with a person: from their username, so that renaming keeps it.
export function hue(key) {
  let hash = 0;
  for (const character of key || "") hash = (hash * 31 + character.codePointAt(0)) >>> 0;
  return hash % AVATAR_COLOURS;
}

// Initials on a colour, for avatars without a picture (one that has an <img> keeps it).
export function decorateAvatars(root) {
  for (const avatar of root.querySelectorAll(".avatar[data-name]:not([data-filled])")) {
    const owner = avatar.closest("[data-author]")?.dataset.author;
    if (!avatar.querySelector("img")) avatar.textContent = initials(avatar.dataset.name);
    avatar.classList.add(`hue-${hue(avatar.dataset.author || owner || avatar.dataset.name)}`);
    avatar.dataset.filled = "";
  }
}

// Shows a person (the wire's user object) in an avatar slot: their picture, or initials.
export function fillAvatar(avatar, person) {
  avatar.dataset.name = person ? person.display_name : "?";
  if (person) avatar.dataset.author = person.username;
  delete avatar.dataset.filled;
  avatar.className = avatar.className.replace(/\bhue-\d+\b/gu, "").trim();
  avatar.replaceChildren();
  if (person?.avatar) {
    const picture = document.createElement("img");
    picture.src = person.avatar;
    picture.alt = "";
    avatar.append(picture);
  }
}

// http(s) and mailto addresses, and www. ones (linked as https). What ends a sentence or a
// bracket around the address is left out of it.
const ADDRESS = /\b(?:https?:\/\/|mailto:|www\.)[^\s<>"]+/giu;
const TRAILING = /[.,;:!?'")\]}>]+$/u;
const SAFE_SCHEMES = new Set(["http:", "https:", "mailto:"]);

export function safeHref(text) {
  try {
    const url = new URL(text.toLowerCase().startsWith("www.") ? `https://${text}` : text);
    return SAFE_SCHEMES.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

// Turns the addresses in an element's text into links (opening in a new tab, telling the
// target nothing of where it came from). The element must hold text only.
export function linkify(element) {
  element.dataset.linked = "";
  const text = element.textContent;
  ADDRESS.lastIndex = 0;
  if (!ADDRESS.test(text)) return;
  ADDRESS.lastIndex = 0;
  const parts = [];
  let done = 0;
  for (const match of text.matchAll(ADDRESS)) {
    const address = match[0].replace(TRAILING, "");
    const href = safeHref(address);
    if (!href) continue;
    parts.push(text.slice(done, match.index));
    const link = document.createElement("a");
    link.href = href;
    link.textContent = address;
    link.target = "_blank";
    link.rel = "noopener noreferrer nofollow";
    parts.push(link);
    done = match.index + address.length;
  }
  if (!parts.length) return;
  parts.push(text.slice(done));
  element.replaceChildren(...parts);
}
