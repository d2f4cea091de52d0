// The timeline of the open room: entries in seq order, each rendered from the server's own
// partial (templates/chat/_entry_templates.html), and the lines only the client adds: gaps
// in what is loaded, day separators and where unread messages start. All user text goes in
// as text (textContent), links made from it with DOM calls, except a text message's
// body_html: HTML the server sanitized when it stored the message (chat/formatting.py).

import { decorateAvatars, fillAvatar, linkify, localTimes } from "./text.js";

const GROUP_WINDOW_MS = 5 * 60 * 1000; // consecutive messages of one author within this are grouped

// Whether a message (the wire's object) mentions `me`: by name, or by an honoured @room.
export function mentionsMe(message, me) {
  if (message.kind !== "text" || message.deleted || message.author?.username === me) return false;
  return (message.mentions ?? []).includes(me) || Boolean(message.mentions_room);
}

export class Timeline {
  constructor({ list, scroller, me }) {
    this.list = list;
    this.scroller = scroller;
    this.me = me;
    this.templates = document.getElementById("entry-templates")?.content;
    this.decorateQueued = false;
  }

  // Reading what is shown

  items() {
    return this.list.querySelectorAll("li.message[data-seq]");
  }

  item(seq) {
    return this.list.querySelector(`li.message[data-seq="${Number(seq)}"]`);
  }

  lastSeq(fallback = 0) {
    const items = this.items();
    return items.length ? Number(items[items.length - 1].dataset.seq) : fallback;
  }

  firstSeq() {
    return Number(this.items()[0]?.dataset.seq ?? 0) || null;
  }

  // The seqs of the entries on screen now, lowest and highest (null when none is).
  visibleRange() {
    const view = this.scroller.getBoundingClientRect();
    let low = null;
    let high = null;
    for (const item of this.items()) {
      const box = item.getBoundingClientRect();
      if (box.bottom < view.top || box.top > view.bottom) continue;
      const seq = Number(item.dataset.seq);
      low = low === null ? seq : Math.min(low, seq);
      high = high === null ? seq : Math.max(high, seq);
    }
    return low === null ? null : { low, high };
  }

  nearBottom() {
    const { scrollHeight, scrollTop, clientHeight } = this.scroller;
    return scrollHeight - scrollTop - clientHeight < 80;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  // Keeps what the reader looks at in place while entries go in above it.
  keepingPlace(change) {
    const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
    const atBottom = this.nearBottom();
    change();
    if (atBottom) this.scrollToBottom();
    else this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
  }

  // Rendering

  render(message) {
    const template = this.templates.querySelector(`li.kind-${CSS.escape(message.kind)}`)
      ?? this.templates.querySelector("li.kind-joined");
    const item = template.cloneNode(true);
    const mine = Boolean(message.author && message.author.username === this.me);
    item.dataset.seq = message.seq;
    item.dataset.author = message.author ? message.author.username : "";
    item.classList.toggle("mine", mine && message.kind === "text");
    for (const name of item.querySelectorAll(".author")) {
      name.textContent = message.author ? message.author.display_name : "someone";
    }
    const avatar = item.querySelector(".avatar");
    if (avatar) fillAvatar(avatar, message.author);
    const time = item.querySelector("time");
    if (time) time.setAttribute("datetime", message.created_at ?? "");
    if (!mine) for (const button of item.querySelectorAll(".actions .edit, .actions .delete")) button.remove();
    this.fill(item, message);
    return item;
  }

  // Puts a message's current state (body, edited, deleted) into its entry.
  fill(item, message) {
    const body = item.querySelector(".body");
    item.classList.toggle("deleted", Boolean(message.deleted));
    const edited = item.querySelector(".edited");
    if (edited) edited.hidden = !message.edited_at;
    const tombstone = item.querySelector(".tombstone");
    if (tombstone) tombstone.hidden = !message.deleted;
    if (body && !item.querySelector("textarea.edit-box")) this.fillBody(body, message);
    this.fillQuote(item, message.deleted ? null : message.reply_to);
    if (message.deleted) item.querySelector(".actions")?.remove();
    const files = item.querySelector("ul.attachments");
    if (files) files.replaceChildren(...(message.deleted ? [] : (message.attachments ?? []).map((file) => this.attachment(file))));
    const bar = item.querySelector(".reactions-bar");
    if (bar) {
      bar.hidden = Boolean(message.deleted);
      // A server older than reactions sends none: keep what is shown.
      if (message.deleted || Array.isArray(message.reactions)) this.fillReactions(item, message.deleted ? [] : message.reactions);
    }
    this.markMentions(item);
  }

  // Highlights an entry that mentions the reader, and their name in it, from the spans the
  // server marked in body_html (chat/formatting.py): the same for live and rendered entries.
  markMentions(item) {
    let mentioned = false;
    for (const span of item.querySelectorAll(".body .mention[data-username]")) {
      const mine = span.dataset.username === this.me;
      span.classList.toggle("me", mine);
      mentioned ||= mine;
    }
    if (item.dataset.author !== this.me && item.querySelector(".body .mention-room")) mentioned = true;
    item.classList.toggle("mentions-me", mentioned && !item.classList.contains("deleted"));
  }

  // The message a reply answers: its author and first line, as text. A server older than
  // replies sends no reply_to: nothing is quoted.
  fillQuote(item, quoted) {
    const quote = item.querySelector(".quote");
    if (!quote) return;
    quote.hidden = !quoted;
    if (!quoted) return;
    quote.classList.toggle("quote-deleted", Boolean(quoted.deleted));
    quote.dataset.seq = quoted.seq;
    quote.querySelector(".quote-author").textContent = quoted.author ? quoted.author.display_name : "someone";
    quote.querySelector(".quote-text").textContent = quoted.deleted ? "deleted message" : quoted.excerpt;
  }

  // An edit or delete of a quoted message, shown in the quotes of the replies on screen (the
  // server's frames carry only the message itself; history pages quote it as it is).
  requote(message) {
    for (const quote of this.list.querySelectorAll(`li.message .quote[data-seq="${Number(message.seq)}"]`)) {
      quote.querySelector(".quote-text").textContent = message.deleted ? "deleted message" : excerpt(message.body);
      quote.classList.toggle("quote-deleted", Boolean(message.deleted));
    }
  }

  // A message's reactions changed (reaction.updated): only for an entry that is shown.
  setReactions(seq, reactions) {
    const item = this.item(seq);
    if (item && !item.classList.contains("deleted")) this.fillReactions(item, reactions);
  }

  // The chips under a message, one per emoji in the server's order, each cloned from
  // templates/chat/_reaction.html. Chips that stay are updated in place, so a chip that has
  // the keyboard's focus keeps it.
  fillReactions(item, reactions) {
    const list = item.querySelector("ul.reactions");
    if (!list) return;
    const shown = new Map([...list.querySelectorAll("button.reaction")].map((button) => [button.dataset.emoji, button]));
    const focused = list.contains(document.activeElement);
    reactions.forEach((reaction, index) => {
      let button = shown.get(reaction.emoji);
      shown.delete(reaction.emoji);
      if (!button) {
        button = this.templates.querySelector("ul.reaction-template > li").cloneNode(true).querySelector("button.reaction");
      }
      const wasMine = button.getAttribute("aria-pressed") === "true";
      // The frame names the first 20 who reacted: past them, what you did is what was shown.
      const mine = reaction.users.includes(this.me) || (reaction.users.length < reaction.count && wasMine);
      button.dataset.emoji = reaction.emoji;
      button.setAttribute("aria-pressed", String(mine));
      button.setAttribute("aria-label", reactionLabel(reaction));
      button.querySelector(".reaction-emoji").textContent = reaction.emoji;
      button.querySelector(".reaction-count").textContent = String(reaction.count);
      const chip = button.closest("li");
      if (list.children[index] !== chip) list.insertBefore(chip, list.children[index] ?? null);
    });
    for (const button of shown.values()) button.closest("li").remove();
    if (focused && !list.contains(document.activeElement)) item.querySelector("button.react-open")?.focus();
  }

  // A text message's body as the server rendered it, or its text where there is no rendering
  // (system lines; a message from a server older than formatting). data-source keeps the
  // source as written: what Edit starts from.
  fillBody(body, message) {
    const text = message.deleted ? "" : message.body;
    const html = message.kind === "text" && !message.deleted ? message.body_html : "";
    if (message.kind === "text") body.dataset.source = text;
    body.classList.toggle("formatted", Boolean(html));
    if (html) {
      // Sanitized by the server when the message was stored (an allowlist of tags, http,
      // https and mailto links only): safe to insert as it is.
      body.innerHTML = html;
      body.dataset.linked = "";
    } else {
      body.textContent = text;
      if (message.kind === "text") linkify(body);
    }
    body.hidden = Boolean(message.deleted);
  }

  // One file of a message, cloned from templates/chat/_attachment.html.
  attachment(file) {
    const kind = file.kind === "image" ? "image" : "file";
    const item = this.templates.querySelector(`li.attachment.kind-${kind}`).cloneNode(true);
    const link = item.querySelector("a.attachment-link");
    link.href = file.url;
    const picture = item.querySelector("img");
    if (picture) {
      picture.src = file.thumbnail_url || file.url;
      picture.alt = file.name;
      picture.width = file.width || 320;
      picture.height = file.height || 240;
    }
    const name = item.querySelector(".attachment-name");
    if (name) name.textContent = file.name;
    const size = item.querySelector(".attachment-size");
    if (size) size.textContent = fileSize(file.size);
    return item;
  }

  // Applies a newer copy of an entry that is shown; entries not shown are ignored.
  update(message) {
    const item = this.item(message.seq);
    if (item) this.fill(item, message);
  }

  // Appends entries newer than every shown one (live delivery); returns the ones added.
  append(messages) {
    const added = [];
    for (const message of messages) {
      if (this.item(message.seq)) {
        this.update(message); // a copy at least as current: replace, never show twice
        continue;
      }
      if (message.seq <= this.lastSeq()) continue; // below the newest: that is history's job
      const item = this.render(message);
      this.list.append(item);
      added.push(item);
    }
    if (added.length) this.decorate();
    return added;
  }

  // Puts entries (ascending) right after `anchor` (a gap marker or an older sentinel), skipping
  // seqs already shown, keeping the reader's place.
  insertAfter(anchor, messages) {
    // The reader's place is what lies below the marker. With nothing of it in view (the gap
    // at the end of a page opened at a message), it is what lies above, which stays put.
    const next = anchor.nextElementSibling?.closest("li.message[data-seq]");
    const belowInView = next && next.getBoundingClientRect().top < this.scroller.getBoundingClientRect().bottom;
    const keep = belowInView || this.nearBottom() ? (change) => this.keepingPlace(change) : (change) => change();
    keep(() => {
      let previous = anchor;
      for (const message of messages) {
        const existing = this.item(message.seq);
        if (existing) {
          this.fill(existing, message);
          previous = existing;
          continue;
        }
        const item = this.render(message);
        previous.after(item);
        previous = item;
      }
    });
    this.decorate();
  }

  // A marker for entries that exist on the server but are not loaded: `after` is the last seq
  // below it that is shown, `through` the last missing one.
  addGap(after, through) {
    const marker = this.templates.querySelector("li.gap").cloneNode(true);
    this.setGap(marker, after, through);
    const below = this.item(after);
    if (below) below.after(marker);
    else this.list.append(marker);
    this.decorate();
    return marker;
  }

  setGap(marker, after, through) {
    marker.dataset.after = after;
    marker.dataset.through = through;
    const count = through - after;
    marker.querySelector(".gap-text").textContent =
      `${count.toLocaleString()} ${count === 1 ? "entry is" : "entries are"} not loaded yet.`;
  }

  // The "new messages" line goes before `item` (moved there if it was elsewhere).
  markUnreadFrom(item) {
    let line = this.list.querySelector("li.unread-line");
    if (!line) line = this.templates.querySelector("li.unread-line").cloneNode(true);
    item.before(line);
    this.decorate();
    return line;
  }

  unreadLine() {
    return this.list.querySelector("li.unread-line");
  }

  // Decoration: everything derived from neighbours, recomputed after changes (batched).

  decorate() {
    if (this.decorateQueued) return;
    this.decorateQueued = true;
    queueMicrotask(() => {
      this.decorateQueued = false;
      this.decorateNow();
    });
  }

  decorateNow() {
    const dayTemplate = this.templates.querySelector("li.day-separator");
    let previous = null; // the entry before, and whether nothing stands between the two
    let adjacent = false;
    for (const node of [...this.list.children]) {
      if (node.classList.contains("day-separator")) {
        if (!node.nextElementSibling?.matches("li.message[data-seq]")) node.remove();
        continue;
      }
      if (!node.matches("li.message[data-seq]")) {
        adjacent = false; // a gap, the unread line or the older sentinel breaks a group
        continue;
      }
      const when = new Date(node.querySelector("time")?.getAttribute("datetime") ?? "");
      const day = Number.isNaN(when.getTime()) ? "" : when.toDateString();
      // Changed in place only where needed: the timeline is a live region, and every node
      // put back would be read out again.
      const before = node.previousElementSibling;
      const separator = before?.classList.contains("day-separator") ? before : null;
      const startsDay = Boolean(day) && (!previous || previous.day !== day);
      if (separator && (!startsDay || separator.dataset.day !== day)) separator.remove();
      if (startsDay && !(separator && separator.dataset.day === day)) {
        const line = dayTemplate.cloneNode(true);
        line.dataset.day = day;
        line.querySelector(".day").textContent = dayLabel(when);
        node.before(line);
      }
      if (startsDay) adjacent = false;
      const grouped = adjacent && previous && node.classList.contains("kind-text")
        && previous.kind === "text" && previous.author && previous.author === node.dataset.author
        && when - previous.when < GROUP_WINDOW_MS;
      if (node.classList.contains("continued") !== Boolean(grouped)) {
        node.classList.toggle("continued", Boolean(grouped));
      }
      previous = {
        day, when, author: node.dataset.author,
        kind: node.classList.contains("kind-text") ? "text" : "system",
      };
      adjacent = true;
    }
    decorateAvatars(this.list);
    localTimes(this.list);
    for (const item of this.list.querySelectorAll("li.kind-text")) this.markMentions(item);
    for (const body of this.list.querySelectorAll("li.kind-text .body:not([data-linked]):not(.formatted)")) {
      linkify(body);
    }
  }
}

// A quote's text as the server cuts it (chat/wire.py): the first line that is not blank, at
// most 120 code points.
export function excerpt(body) {
  const line = body.split("\n").map((text) => text.trim()).find(Boolean) ?? "";
  const points = [...line];
  return points.length > 120 ? `${points.slice(0, 119).join("").trimEnd()}…` : line;
}

// "👍 2: alice, bob", as the server writes it (chat/templatetags/reaction_chips.py).
function reactionLabel(reaction) {
  const more = reaction.count > reaction.users.length ? ", …" : "";
  return `${reaction.emoji} ${reaction.count}: ${reaction.users.join(", ")}${more}`;
}

// As Django's filesizeformat writes it on the server-rendered entries.
function fileSize(bytes) {
  const units = ["bytes", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} ${value === 1 ? "byte" : "bytes"}` : `${value.toFixed(1)} ${units[unit]}`;
}

function dayLabel(when) {
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (when.toDateString() === today.toDateString()) return "Today";
  if (when.toDateString() === yesterday.toDateString()) return "Yesterday";
  const options = { weekday: "long", month: "long", day: "numeric" };
  if (when.getFullYear() !== today.getFullYear()) options.year = "numeric";
  return when.toLocaleDateString([], options);
}
