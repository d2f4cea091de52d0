// Parley's page client. The server renders the pages; this module keeps them live over one
// socket (connection.js): new, edited and deleted messages, gaps after long outages, typing,
// presence, unread counts, and the keyboard. docs/protocol.md section 5 is the algorithm.

import { Connection, Disconnected } from "./connection.js";
import { Notifier } from "./notify.js";
import { Sidebar } from "./sidebar.js";
import { installSwitcher } from "./switcher.js";
import { Timeline, excerpt, mentionsMe } from "./timeline.js";
import { Uploads } from "./uploads.js";
import { decorateAvatars, localTimes } from "./text.js";

const PAGE = 200; // history.fetch's largest page (hello's limits.history_max_page)
const GAP_PAGE = 100; // entries loaded per step while filling a gap
const REFRESH_PAGES = 5; // pages refetched after a resume: the visible one first
const STATE_TEXT = {
  connecting: "Connecting…",
  "catching-up": "Catching up…",
  live: "Live",
  reconnecting: "Reconnecting…",
};

const config = JSON.parse(document.getElementById("parley-config").textContent);
const openRoom = config.room;
const scroller = document.getElementById("timeline-scroll");
const list = document.getElementById("timeline");
const composer = document.getElementById("composer");
const composerError = document.getElementById("composer-error");
const typingLine = document.getElementById("typing");
const badge = document.getElementById("connection");
const newBelow = document.getElementById("new-below");
const jumpUnread = document.getElementById("jump-unread");

const sidebar = new Sidebar({ openRoom, me: config.me });
const notifier = new Notifier({
  openRoom,
  enableButton: document.getElementById("enable-notifications"),
  muteButton: document.getElementById("mute-room"),
});
const timeline = list ? new Timeline({ list, scroller, me: config.me }) : null;
let helloSeen = false;
let resumedBefore = false; // a first resume has nothing to refetch: the page was just rendered
let roomGone = false;

const scheme = location.protocol === "https:" ? "wss" : "ws";
const connection = new Connection({
  url: `${scheme}://${location.host}/ws/`,
  // Opened ?at= a message, the page may end before the room does: go on from the room's end.
  cursors: () => (openRoom && !roomGone ? { [openRoom]: Math.max(timeline.lastSeq(config.cursor), config.cursor) } : {}),
  onFrame: (frame) => handlers[frame.type]?.(frame),
  onResumed: resumed,
  onState: (state) => {
    badge.dataset.state = state;
    badge.textContent = STATE_TEXT[state];
  },
  onLoggedOut: () => location.assign(`/accounts/login/?next=${encodeURIComponent(location.pathname)}`),
});

// Frames from the server

const handlers = {
  hello(frame) {
    const listed = new Set(frame.rooms.map((room) => room.id));
    for (const link of sidebar.links()) {
      if (!listed.has(link.dataset.roomId)) sidebar.remove(link.dataset.roomId);
    }
    for (const room of frame.rooms) {
      sidebar.add(room);
      sidebar.setUnread(room.id, room.unread);
      sidebar.setMentions(room.id, room.unread_mentions ?? 0);
    }
    if (openRoom && !listed.has(openRoom)) leftRoom();
    // The member list loads with the page; after a reconnect it may have changed.
    if (helloSeen) refreshMembers();
    helloSeen = true;
  },
  "message.new"(frame) {
    const forMe = mentionsMe(frame.message, config.me);
    sidebar.bump(frame.room, frame.message, forMe);
    const link = sidebar.link(frame.room);
    if (link && frame.message.kind === "text" && frame.message.author?.username !== config.me) {
      const direct = link.dataset.kind === "direct";
      notifier.message(frame.room, link.querySelector(".name")?.textContent ?? "", frame.message, { forMe, direct });
    }
    if (frame.room === openRoom && timeline) showNew(frame.message);
  },
  "message.edited"(frame) {
    if (frame.room !== openRoom || !timeline) return;
    timeline.update(frame.message);
    timeline.requote(frame.message);
  },
  "message.deleted"(frame) {
    if (frame.room !== openRoom || !timeline) return;
    timeline.update(frame.message);
    timeline.requote(frame.message);
    if (replyingTo?.seq === frame.message.seq) setReply(null);
  },
  "reaction.updated"(frame) { if (frame.room === openRoom) timeline?.setReactions(frame.seq, frame.reactions); },
  "member.joined"(frame) { if (frame.room === openRoom) refreshMembers(); },
  "member.left"(frame) { if (frame.room === openRoom) refreshMembers(); },
  presence(frame) {
    sidebar.presence(frame.changes);
    // Only when the list shows something else: the list loaded with the page often has you
    // online already, and then a second request would change nothing.
    const shown = (change) => {
      const dot = document.querySelector(`#members li[data-username="${CSS.escape(change.user.username)}"] .dot`);
      return dot !== null && dot.classList.contains("online") === change.online;
    };
    if (frame.room === openRoom && !frame.changes.every(shown)) refreshMembers();
  },
  typing(frame) {
    if (frame.room === openRoom && frame.user.username !== config.me) {
      startTyping(frame.user, frame.expires_in);
    }
  },
  "read.updated"(frame) {
    sidebar.setUnread(frame.room, frame.unread);
    if (frame.unread_mentions !== undefined) sidebar.setMentions(frame.room, frame.unread_mentions);
  },
  "room.joined"(frame) { sidebar.add(frame.room); },
  "room.left"(frame) {
    sidebar.remove(frame.room);
    if (frame.room === openRoom) leftRoom();
  },
  error(frame) { if (frame.ref === undefined) showComposerError(frame.message); },
};

// After every (re)connect: mark what could not be replayed, then refetch what is shown, since
// edits and deletes made meanwhile are not replayed (protocol section 5, step 4).
function resumed(frame) {
  const report = frame.rooms?.[openRoom];
  if (!report || !timeline) return;
  if (report.error === "cursor_ahead") {
    location.reload(); // the page's copy does not match the server's timeline
    return;
  }
  if (report.error === "room_not_found") {
    leftRoom();
    return;
  }
  if (report.gap) watchGap(timeline.addGap(report.gap.after, report.gap.through));
  for (const marker of list.querySelectorAll("li.gap")) if (inView(marker)) fillGap(marker);
  if (resumedBefore) refreshShown();
  resumedBefore = true;
  markReadSoon();
}

async function refreshShown() {
  const shown = timeline.items();
  if (!shown.length) return;
  const first = Number(shown[0].dataset.seq);
  const last = Number(shown[shown.length - 1].dataset.seq);
  const start = timeline.visibleRange()?.low ?? last;
  let budget = REFRESH_PAGES;
  try {
    for (let after = start - 1; after < last && budget > 0; budget -= 1) {
      const reply = await connection.request({ type: "history.fetch", room: openRoom, after, limit: PAGE });
      if (reply.type !== "history" || !reply.messages.length) break;
      for (const message of reply.messages) timeline.update(message);
      after = reply.messages[reply.messages.length - 1].seq;
    }
    for (let before = start; before > first && budget > 0; budget -= 1) {
      const reply = await connection.request({ type: "history.fetch", room: openRoom, before, limit: PAGE });
      if (reply.type !== "history" || !reply.messages.length) break;
      for (const message of reply.messages) timeline.update(message);
      before = reply.messages[0].seq;
    }
  } catch (error) {
    if (!(error instanceof Disconnected)) throw error; // the next resume refreshes again
  }
}

// Gaps: entries the server did not replay (more than its replay limit were missed). The marker
// says so until they are in; they load a page at a time, the newest first, while it is in view.

const gapWatcher = scroller && new IntersectionObserver((entries) => {
  for (const entry of entries) if (entry.isIntersecting) fillGap(entry.target);
}, { root: scroller, rootMargin: "300px 0px" });

function watchGap(marker) {
  gapWatcher.observe(marker);
  marker.querySelector("button.gap-load").addEventListener("click", () => fillGap(marker));
}

function inView(element) {
  const box = element.getBoundingClientRect();
  const view = scroller.getBoundingClientRect();
  return box.bottom >= view.top - 300 && box.top <= view.bottom + 300;
}

async function fillGap(marker) {
  if (!marker.isConnected || "loading" in marker.dataset || !connection.ready) return;
  marker.dataset.loading = "";
  scroller.setAttribute("aria-busy", "true");
  let more = false;
  try {
    const after = Number(marker.dataset.after);
    const next = marker.nextElementSibling?.closest("li.message[data-seq]");
    const before = next ? Number(next.dataset.seq) : Number(marker.dataset.through) + 1;
    const reply = await connection.request({ type: "history.fetch", room: openRoom, before, limit: GAP_PAGE });
    if (reply.type !== "history") {
      marker.querySelector(".gap-text").textContent = `These entries could not be loaded: ${reply.message}`;
      return;
    }
    const missing = reply.messages.filter((message) => message.seq > after);
    timeline.insertAfter(marker, missing);
    const lowest = missing.length ? missing[0].seq : before;
    if (lowest <= after + 1 || !reply.has_more || missing.length < reply.messages.length) {
      gapWatcher.unobserve(marker);
      marker.remove();
      timeline.decorate();
    } else {
      timeline.setGap(marker, after, lowest - 1);
      more = true;
    }
  } catch (error) {
    if (!(error instanceof Disconnected)) throw error; // tried again after the next resume
  } finally {
    delete marker.dataset.loading;
    scroller.removeAttribute("aria-busy");
    // The observer fires on changes only: a marker still in view asks for the next page here.
    if (more) requestAnimationFrame(() => { if (inView(marker)) fillGap(marker); });
  }
}

// New entries, unread lines and the hints around the timeline

let awayFrom = null; // whether the tab was hidden since the "new messages" line was placed

function showNew(message) {
  const stick = timeline.nearBottom();
  const added = timeline.append([message]);
  if (!added.length) return;
  const mine = message.author?.username === config.me;
  if (message.author) stopTyping(message.author.username);
  if (!mine && message.kind === "text" && document.visibilityState === "hidden") {
    if (awayFrom !== null) {
      timeline.markUnreadFrom(added[0]);
      awayFrom = null;
    }
    sidebar.unseenHere += 1;
    if (mentionsMe(message, config.me) || document.getElementById("room")?.dataset.kind === "direct") {
      sidebar.unseenForMe += 1;
    }
    sidebar.showTotal();
  }
  if (stick || mine) timeline.scrollToBottom();
  else if (!mine) newBelow.hidden = false;
  markReadSoon();
}

function placeUnreadLine() {
  if (!timeline || !config.read_before) return;
  const first = [...timeline.items()].find((item) => Number(item.dataset.seq) > config.read_before
    && item.classList.contains("kind-text") && item.dataset.author !== config.me);
  if (!first) return;
  const line = timeline.markUnreadFrom(first);
  new IntersectionObserver((entries) => {
    const above = entries[0].boundingClientRect.top < (entries[0].rootBounds?.top ?? 0);
    jumpUnread.hidden = entries[0].isIntersecting || !above || !line.isConnected;
  }, { root: scroller }).observe(line);
}

jumpUnread?.addEventListener("click", () => {
  timeline.unreadLine()?.scrollIntoView({ block: "start" });
  jumpUnread.hidden = true;
});
newBelow?.addEventListener("click", () => {
  timeline.scrollToBottom();
  newBelow.hidden = true;
  composer?.elements.body.focus();
});

// A link to one entry (`?at=<seq>`, from the mentions page or a notification): shown and
// outlined when it is on the page.
// Read markers

let readTimer = null;
function markReadSoon() {
  if (!openRoom || roomGone || document.visibilityState !== "visible") return;
  clearTimeout(readTimer);
  readTimer = setTimeout(() => {
    connection.notify({ type: "read.mark", room: openRoom, seq: timeline.lastSeq(config.cursor) });
  }, 400);
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") {
    awayFrom = timeline?.lastSeq() ?? null;
  } else {
    sidebar.unseenHere = 0;
    sidebar.unseenForMe = 0;
    sidebar.showTotal();
    markReadSoon();
  }
});

function refreshMembers() {
  if (openRoom && !roomGone && window.htmx) window.htmx.trigger(document.body, "parley:members");
}

// A refresh already on its way (member.left comes before room.left) must not ask for the member
// list of a room that is gone.
document.body.addEventListener("htmx:beforeRequest", (event) => {
  if (roomGone && event.detail.elt.id === "members") event.preventDefault();
});

function leftRoom() {
  roomGone = true;
  showComposerError("You are no longer in this room: it was deleted, or you left or were removed.");
  if (composer) for (const control of composer.elements) control.disabled = true;
}

// Typing

const typists = new Map(); // username -> {name, timer}

// Each name in its own <bdi>, so that right-to-left text in one cannot reorder the line.
function showTyping() {
  const names = [...typists.values()].map((typist) => {
    const name = document.createElement("bdi");
    name.textContent = typist.name;
    return name;
  });
  const parts = names.flatMap((name, index) => (index === 0 ? [name] : [", ", name]));
  if (names.length) parts.push(names.length === 1 ? " is typing…" : " are typing…");
  typingLine.replaceChildren(...parts);
}

function startTyping(user, seconds) {
  clearTimeout(typists.get(user.username)?.timer);
  const timer = setTimeout(() => stopTyping(user.username), seconds * 1000);
  typists.set(user.username, { name: user.display_name, timer });
  showTyping();
}

function stopTyping(username) {
  if (!typists.has(username)) return;
  clearTimeout(typists.get(username).timer);
  typists.delete(username);
  showTyping();
}

// The composer

function showComposerError(text) {
  if (!composerError) return;
  composerError.textContent = text;
  composerError.hidden = !text;
}

const uploads = composer && new Uploads({
  room: openRoom,
  tray: document.getElementById("upload-tray"),
  input: document.getElementById("attach-file"),
  dropZone: document.getElementById("room"),
  csrfToken: composer.elements.csrfmiddlewaretoken.value,
  onError: showComposerError,
});

function send(body, attachments, replyTo) {
  connection.post(openRoom, body, { attachments, replyTo }).then(
    () => { if (!connection.pendingPosts()) showComposerError(""); },
    (refusal) => {
      const box = composer.elements.body;
      if (!box.value.trim()) box.value = body; // nothing typed since: give the text back
      showComposerError(refusal.message);
    },
  );
  if (!connection.ready) showComposerError("Offline: the message will be sent when the connection is back.");
}

let lastTypingSent = 0;
if (composer) {
  const box = composer.elements.body;
  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = box.value;
    if (roomGone) return;
    if (uploads.busy()) {
      showComposerError("Wait a moment: files are still uploading.");
      return;
    }
    const attachments = uploads.take();
    if (!body.trim() && !attachments.length) return;
    box.value = "";
    send(body, attachments, replyingTo?.seq ?? null);
    setReply(null);
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit();
    } else if (event.key === "Escape" && replyingTo) {
      event.preventDefault();
      setReply(null);
    } else if (event.key === "ArrowUp" && !box.value) {
      const mine = [...list.querySelectorAll("li.message.mine:not(.deleted)")].pop();
      if (mine) {
        event.preventDefault();
        startEditing(mine);
      }
    }
  });
  box.addEventListener("paste", (event) => uploads.paste(event));
  box.addEventListener("input", () => {
    const now = Date.now();
    if (now - lastTypingSent > 2000 && box.value.trim()) {
      lastTypingSent = now;
      connection.notify({ type: "typing", room: openRoom });
    }
  });
}

// Replying: the composer says to what until the message is sent or the reply cancelled.

const replyBar = document.getElementById("reply-bar");
let replyingTo = null; // {seq} of the message the next one answers

function setReply(item) {
  replyingTo = item ? { seq: Number(item.dataset.seq) } : null;
  if (!replyBar) return;
  replyBar.hidden = !item;
  if (item) {
    const body = item.querySelector(".body");
    replyBar.querySelector(".reply-author").textContent = item.querySelector(".author")?.textContent ?? "someone";
    replyBar.querySelector(".reply-excerpt").textContent = excerpt(body?.dataset.source ?? body?.textContent ?? "");
    composer?.elements.body.focus();
  }
}

document.getElementById("reply-cancel")?.addEventListener("click", () => {
  setReply(null);
  composer?.elements.body.focus();
});

// A quote's message: scrolled to and highlighted when it is loaded, otherwise the page opens
// around it (?at=, rendered by the server, with a gap marker up to the live end).
function jumpTo(seq) {
  const target = timeline.item(seq);
  if (!target) {
    const address = new URL(location.href);
    address.searchParams.set("at", String(seq));
    location.assign(address.toString());
    return;
  }
  highlight(target);
}

function highlight(item) {
  item.scrollIntoView({ block: "center" });
  for (const other of list.querySelectorAll("li.message.highlighted")) other.classList.remove("highlighted");
  item.classList.add("highlighted");
  setTimeout(() => item.classList.remove("highlighted"), 2500);
}

// Editing and deleting your own messages (buttons, or Up in an empty composer)

function startEditing(item) {
  const body = item.querySelector(".body");
  if (!body || item.querySelector("textarea.edit-box")) return;
  const editor = document.createElement("textarea");
  editor.className = "edit-box";
  editor.dir = "auto";
  editor.value = body.dataset.source ?? body.textContent; // the Markdown, not what it shows
  editor.setAttribute("aria-label", "Edit message: Enter saves, Escape cancels");
  body.hidden = true;
  body.after(editor);
  item.scrollIntoView({ block: "nearest" });
  editor.focus();
}

function stopEditing(editor) {
  const item = editor.closest("li.message");
  editor.remove();
  item.querySelector(".body").hidden = item.classList.contains("deleted");
  composer?.elements.body.focus();
}

async function answer(frame) {
  try {
    const reply = await connection.request(frame);
    if (reply.type === "error") showComposerError(reply.message);
    return reply.type !== "error";
  } catch {
    showComposerError("Offline: try again when the connection is back.");
    return false;
  }
}

// Reactions: a chip toggles your emoji; "Add reaction" opens a row of common ones. The change
// shows when reaction.updated comes back, for you as for everyone.

function reactionClick(event) {
  const item = event.target.closest("li.message.kind-text");
  const chip = event.target.closest("button.reaction");
  const pick = event.target.closest("button.react-pick");
  const opener = event.target.closest("button.react-open");
  if (!item || !(chip || pick || opener)) return false;
  if (opener) {
    setPicker(item, opener.getAttribute("aria-expanded") !== "true");
    return true;
  }
  const emoji = (chip ?? pick).dataset.emoji;
  const shown = [...item.querySelectorAll("ul.reactions button.reaction")].find((button) => button.dataset.emoji === emoji);
  const mine = shown?.getAttribute("aria-pressed") === "true";
  if (pick) setPicker(item, false);
  answer({ type: mine ? "reaction.remove" : "reaction.add", room: openRoom, seq: Number(item.dataset.seq), emoji });
  return true;
}

function setPicker(item, open) {
  const opener = item.querySelector("button.react-open");
  const picker = item.querySelector(".reaction-picker");
  if (!opener || !picker) return;
  opener.setAttribute("aria-expanded", String(open));
  picker.hidden = !open;
  (open ? picker.querySelector("button") : opener).focus();
}

// Pictures open large in the page; other files download.
const lightbox = document.getElementById("lightbox");

lightbox?.addEventListener("click", (event) => { if (event.target === lightbox) lightbox.close(); });

if (list) {
  list.addEventListener("click", (event) => {
    const picture = event.target.closest("li.attachment.kind-image a.attachment-link");
    if (picture && lightbox) {
      event.preventDefault();
      lightbox.querySelector("img").src = picture.href;
      lightbox.querySelector("img").alt = picture.querySelector("img")?.alt ?? "";
      lightbox.querySelector("a.lightbox-original").href = picture.href;
      lightbox.showModal();
      return;
    }
    if (reactionClick(event)) return;
    const quote = event.target.closest("button.quote");
    if (quote) {
      jumpTo(Number(quote.dataset.seq));
      return;
    }
    if (event.target.closest("button.reply")) {
      setReply(event.target.closest("li.message"));
      return;
    }
    const item = event.target.closest("li.message.mine");
    if (!item) return;
    if (event.target.closest("button.delete")) {
      if (window.confirm("Delete this message?")) {
        answer({ type: "message.delete", room: openRoom, seq: Number(item.dataset.seq) });
      }
    } else if (event.target.closest("button.edit")) {
      startEditing(item);
    }
  });
  list.addEventListener("keydown", (event) => {
    const picker = event.target.closest(".reaction-picker");
    if (picker && event.key === "Escape") {
      event.preventDefault();
      setPicker(picker.closest("li.message"), false);
    }
  });
  list.addEventListener("keydown", async (event) => {
    const editor = event.target.closest("textarea.edit-box");
    if (!editor) return;
    if (event.key === "Escape") {
      event.preventDefault();
      stopEditing(editor);
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      const seq = Number(editor.closest("li.message").dataset.seq);
      if (await answer({ type: "message.edit", room: openRoom, seq, body: editor.value })) {
        if (editor.isConnected) stopEditing(editor);
      }
    }
  });
}

// Panels that a phone hides behind buttons: the rooms, the members

for (const toggle of document.querySelectorAll("button[aria-controls][aria-expanded]")) {
  const panel = document.getElementById(toggle.getAttribute("aria-controls"));
  if (!panel) continue;
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    panel.classList.toggle("open", open);
    if (open) panel.querySelector("a, button, [tabindex]")?.focus();
  });
  const close = () => {
    panel.classList.remove("open");
    toggle.setAttribute("aria-expanded", "false");
  };
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && panel.classList.contains("open")) {
      close();
      toggle.focus();
    }
  });
  // A tap beside the panel (on the conversation it covers) puts it away.
  document.addEventListener("pointerdown", (event) => {
    if (panel.classList.contains("open") && !panel.contains(event.target) && !toggle.contains(event.target)) close();
  });
}

// Older history (htmx) goes in above what the reader is looking at: keep their place, and keep
// the live region quiet while it does.
let olderFromBottom = null;
document.body.addEventListener("htmx:beforeSwap", (event) => {
  if (scroller && event.detail.target.id === "older" && event.detail.shouldSwap) {
    olderFromBottom = scroller.scrollHeight - scroller.scrollTop;
    scroller.setAttribute("aria-busy", "true");
  }
});
document.body.addEventListener("htmx:afterSwap", (event) => {
  decorateAvatars(event.target);
  localTimes(event.target);
  if (olderFromBottom !== null && list.contains(event.target)) {
    timeline.decorateNow();
    scroller.scrollTop = scroller.scrollHeight - olderFromBottom;
    olderFromBottom = null; // the whole page is in by the first afterSwap
    scroller.removeAttribute("aria-busy");
  }
});

installSwitcher(sidebar);
if (timeline) {
  timeline.decorateNow();
  placeUnreadLine();
  if (config.gap_after !== null && config.gap_after !== undefined) {
    watchGap(timeline.addGap(config.gap_after, config.cursor));
  }
  const anchor = config.at ? timeline.item(config.at) : null;
  if (anchor) highlight(anchor);
  else timeline.scrollToBottom();
  // Stay at the newest entry while the pane changes size (a keyboard opening, the member list
  // arriving), unless the reader has scrolled up or opened the page at a message.
  let atBottom = !anchor;
  scroller.addEventListener("scroll", () => {
    atBottom = timeline.nearBottom();
    if (atBottom) newBelow.hidden = true;
  }, { passive: true });
  new ResizeObserver(() => { if (atBottom) timeline.scrollToBottom(); }).observe(scroller);
}
sidebar.showTotal();
connection.start();
