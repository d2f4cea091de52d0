// Parley's page client: one socket per tab, speaking docs/protocol.md.
// Pages are rendered by the server; this module keeps them live: new, edited and deleted
// messages, typing, presence, unread badges, and reconnecting with catch-up.

const config = JSON.parse(document.getElementById("parley-config").textContent);
const openRoom = config.room;
const timeline = document.getElementById("timeline");
const scroller = document.getElementById("timeline-scroll");
const composer = document.getElementById("composer");
const composerError = document.getElementById("composer-error");
const typingLine = document.getElementById("typing");
const connection = document.getElementById("connection");

let socket = null;
let attempts = 0;
let nextRef = 1;
const replies = new Map(); // ref -> callback(frame)
const outbox = new Map(); // client_id -> body, until acked; resent after a reconnect
const typists = new Map(); // username -> {name, timer}

const CONNECTION_TEXT = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" };

function setConnection(state) {
  connection.dataset.state = state;
  connection.textContent = CONNECTION_TEXT[state];
}

function send(frame, onReply) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return false;
  const ref = nextRef++;
  if (onReply) replies.set(ref, onReply);
  socket.send(JSON.stringify({ ...frame, ref }));
  return true;
}

// Timeline

function lastSeq() {
  const last = timeline && timeline.querySelector("li.message:last-of-type");
  return last ? Number(last.dataset.seq) : config.cursor || 0;
}

function messageElement(seq) {
  return timeline.querySelector(`li.message[data-seq="${seq}"]`);
}

function localTimes(root) {
  for (const time of root.querySelectorAll("time[datetime]")) {
    const when = new Date(time.getAttribute("datetime"));
    if (!Number.isNaN(when.getTime())) {
      const clock = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      const today = when.toDateString() === new Date().toDateString();
      time.textContent = today ? clock : `${when.toLocaleDateString()} ${clock}`;
      time.title = when.toLocaleString();
    }
  }
}

function systemText(message) {
  const who = message.author ? message.author.display_name : "someone";
  switch (message.kind) {
    case "joined": return `${who} joined`;
    case "left": return `${who} left`;
    case "renamed": return `room renamed to “${message.body}”`;
    case "archived": return "room archived";
    case "unarchived": return "room reopened";
    default: return message.kind;
  }
}

// Builds a message from the server-rendered template; all user text goes in as textContent.
function renderMessage(message) {
  const template = document.getElementById("message-template");
  const item = template.content.firstElementChild.cloneNode(true);
  const mine = Boolean(message.author && message.author.username === config.me);
  item.className = `message kind-${message.kind}`;
  item.classList.toggle("mine", mine && message.kind === "text");
  item.dataset.seq = message.seq;
  if (message.kind !== "text") {
    item.replaceChildren();
    const line = document.createElement("span");
    line.className = "system";
    line.textContent = systemText(message);
    item.append(line);
    return item;
  }
  item.querySelector(".author").textContent = message.author ? message.author.display_name : "someone";
  item.querySelector("time").setAttribute("datetime", message.created_at);
  fillMessage(item, message, mine);
  localTimes(item);
  return item;
}

function fillMessage(item, message, mine) {
  item.classList.toggle("deleted", message.deleted);
  item.querySelector(".edited").hidden = !message.edited_at;
  let body = item.querySelector(".body, .tombstone, textarea.edit-box");
  if (!body) {
    body = document.createElement("div");
    item.querySelector(".meta").after(body);
  }
  const fresh = document.createElement("div");
  if (message.deleted) {
    fresh.className = "tombstone";
    fresh.textContent = "message deleted";
  } else {
    fresh.className = "body";
    fresh.textContent = message.body;
  }
  body.replaceWith(fresh);
  const actions = item.querySelector(".actions");
  if (actions && (!mine || message.deleted)) actions.remove();
}

function nearBottom() {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
}

function scrollToBottom() {
  scroller.scrollTop = scroller.scrollHeight;
}

function appendMessage(message) {
  if (message.seq <= lastSeq() || messageElement(message.seq)) return; // already shown
  const stick = nearBottom();
  timeline.append(renderMessage(message));
  if (stick || (message.author && message.author.username === config.me)) scrollToBottom();
  if (message.author) stopTyping(message.author.username);
  markReadSoon();
}

function updateMessage(message) {
  const item = messageElement(message.seq);
  if (!item || item.classList.contains("kind-text") === false) return;
  fillMessage(item, message, item.classList.contains("mine"));
}

// Read markers and the sidebar

let readTimer = null;
function markReadSoon() {
  if (!openRoom || document.visibilityState !== "visible") return;
  clearTimeout(readTimer);
  readTimer = setTimeout(() => send({ type: "read.mark", room: openRoom, seq: lastSeq() }), 400);
}

function sidebarLink(roomId) {
  return document.querySelector(`#sidebar a.room-link[data-room-id="${roomId}"]`);
}

function setUnread(roomId, count) {
  const badge = sidebarLink(roomId)?.querySelector(".badge.unread");
  if (!badge) return;
  badge.textContent = String(count);
  badge.hidden = count <= 0 || roomId === openRoom;
}

function bumpRoom(roomId, message) {
  const link = sidebarLink(roomId);
  if (!link) return;
  const list = link.closest("ul");
  list.prepend(link.closest("li"));
  const activity = link.querySelector("time.activity");
  if (activity && message.created_at) {
    activity.setAttribute("datetime", message.created_at);
    localTimes(link);
  }
  if (message.kind === "text") {
    const author = message.author ? message.author.username : "";
    link.querySelector(".preview").textContent = `${author}: ${message.body.slice(0, 48)}`;
    if (author !== config.me && roomId !== openRoom) {
      const badge = link.querySelector(".badge.unread");
      setUnread(roomId, Number(badge.textContent || 0) + 1);
    }
  }
}

function addRoomLink(room) {
  if (sidebarLink(room.id)) return;
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.className = "room-link";
  link.dataset.roomId = room.id;
  link.href = `/rooms/${room.id}/`;
  const name = document.createElement("span");
  name.className = "room-name";
  name.textContent = `${room.kind === "direct" ? "@" : "#"} ${room.name}`;
  const badge = document.createElement("span");
  badge.className = "badge unread";
  badge.hidden = true;
  badge.textContent = "0";
  const preview = document.createElement("span");
  preview.className = "preview";
  const activity = document.createElement("time");
  activity.className = "activity";
  link.append(name, badge, preview, activity);
  item.append(link);
  document.querySelector("#room-list .empty")?.remove();
  document.getElementById("room-list").prepend(item);
}

// Typing

function showTyping() {
  const names = [...typists.values()].map((typist) => typist.name);
  typingLine.textContent = names.length === 0 ? ""
    : names.length === 1 ? `${names[0]} is typing…` : `${names.join(", ")} are typing…`;
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

function refreshMembers() {
  if (openRoom && window.htmx) window.htmx.trigger(document.body, "parley:members");
}

// Frames from the server

const handlers = {
  hello(frame) {
    attempts = 0;
    setConnection("live");
    for (const room of frame.rooms) setUnread(room.id, room.unread);
    if (openRoom) {
      send({ type: "resume", cursors: { [openRoom]: lastSeq() } }, () => markReadSoon());
      refreshMembers();
    }
    for (const [clientId, body] of outbox) sendMessage(body, clientId);
  },
  "message.new"(frame) {
    if (frame.room === openRoom) appendMessage(frame.message);
    bumpRoom(frame.room, frame.message);
  },
  "message.edited"(frame) { if (frame.room === openRoom) updateMessage(frame.message); },
  "message.deleted"(frame) { if (frame.room === openRoom) updateMessage(frame.message); },
  "member.joined"(frame) { if (frame.room === openRoom) refreshMembers(); },
  "member.left"(frame) { if (frame.room === openRoom) refreshMembers(); },
  presence(frame) {
    for (const change of frame.changes) {
      const selector = `#sidebar .dot[data-peer="${CSS.escape(change.user.username)}"]`;
      for (const dot of document.querySelectorAll(selector)) {
        dot.classList.toggle("online", change.online);
        dot.title = change.online ? "online" : "offline";
      }
    }
    if (frame.room === openRoom) refreshMembers();
  },
  typing(frame) {
    if (frame.room === openRoom && frame.user.username !== config.me) {
      startTyping(frame.user, frame.expires_in);
    }
  },
  "read.updated"(frame) { setUnread(frame.room, frame.unread); },
  "room.joined"(frame) { addRoomLink(frame.room); },
  "room.left"(frame) {
    sidebarLink(frame.room)?.closest("li").remove();
    if (frame.room === openRoom) showComposerError("You are no longer in this room.");
  },
  error(frame) {
    if (frame.ref === undefined) showComposerError(frame.message);
  },
};

function receive(event) {
  const frame = JSON.parse(event.data);
  if (frame.ref !== undefined && replies.has(frame.ref)) {
    const reply = replies.get(frame.ref);
    replies.delete(frame.ref);
    reply(frame);
    return;
  }
  handlers[frame.type]?.(frame);
}

function connect() {
  setConnection(attempts === 0 ? "connecting" : "reconnecting");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/`);
  socket.addEventListener("message", receive);
  socket.addEventListener("close", (event) => {
    replies.clear();
    // 4001: not logged in; 4003: logged out (or the account closed) while connected.
    if (event.code === 4001 || event.code === 4003) {
      location.assign(`/accounts/login/?next=${encodeURIComponent(location.pathname)}`);
      return;
    }
    setConnection("reconnecting");
    // Exponential backoff with jitter, so a restarted server is not hit by everyone at once.
    const delay = Math.min(10000, 500 * 2 ** attempts) * (0.5 + Math.random() / 2);
    attempts += 1;
    setTimeout(connect, delay);
  });
}

// The composer

function showComposerError(text) {
  if (!composerError) return;
  composerError.textContent = text;
  composerError.hidden = !text;
}

function sendMessage(body, clientId) {
  outbox.set(clientId, body);
  send({ type: "message.send", room: openRoom, body, client_id: clientId }, (reply) => {
    if (reply.type === "ack") {
      outbox.delete(clientId);
      showComposerError("");
    } else if (reply.code === "rate_limited") {
      setTimeout(() => sendMessage(body, clientId), reply.details.retry_after * 1000);
    } else {
      outbox.delete(clientId);
      const box = composer.elements.body;
      if (!box.value.trim()) box.value = body; // nothing typed since: give the text back
      showComposerError(reply.message);
    }
  });
}

let lastTypingSent = 0;
if (composer) {
  const box = composer.elements.body;
  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = box.value;
    if (!body.trim()) return;
    box.value = "";
    sendMessage(body, crypto.randomUUID());
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      showComposerError("Offline: the message will be sent when the connection is back.");
    }
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });
  box.addEventListener("input", () => {
    const now = Date.now();
    if (now - lastTypingSent > 2000 && box.value.trim()) {
      lastTypingSent = now;
      send({ type: "typing", room: openRoom });
    }
  });
}

// Editing and deleting your own messages

if (timeline) {
  timeline.addEventListener("click", (event) => {
    const item = event.target.closest("li.message.mine");
    if (!item) return;
    const seq = Number(item.dataset.seq);
    if (event.target.matches("button.delete")) {
      if (window.confirm("Delete this message?")) {
        send({ type: "message.delete", room: openRoom, seq }, (reply) => {
          if (reply.type === "error") showComposerError(reply.message);
        });
      }
    } else if (event.target.matches("button.edit")) {
      const body = item.querySelector(".body");
      if (!body) return;
      const editor = document.createElement("textarea");
      editor.className = "edit-box";
      editor.value = body.textContent;
      editor.dataset.original = body.textContent;
      body.replaceWith(editor);
      editor.focus();
    }
  });
  timeline.addEventListener("keydown", (event) => {
    const editor = event.target.closest("textarea.edit-box");
    if (!editor) return;
    const restore = (text) => {
      const body = document.createElement("div");
      body.className = "body";
      body.textContent = text;
      editor.replaceWith(body);
    };
    if (event.key === "Escape") restore(editor.dataset.original);
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      const seq = Number(editor.closest("li.message").dataset.seq);
      send({ type: "message.edit", room: openRoom, seq, body: editor.value }, (reply) => {
        if (reply.type === "error") showComposerError(reply.message);
        else if (editor.isConnected) restore(editor.value.trim());
      });
    }
  });
}

document.addEventListener("visibilitychange", markReadSoon);
// Older history goes in above what the reader is looking at: keep their place. (The browser's
// own scroll anchoring does nothing at scrollTop 0, so the next page would load at once, and
// the next, until the whole history was in.)
let olderFromBottom = null;
document.body.addEventListener("htmx:beforeSwap", (event) => {
  if (scroller && event.detail.target.id === "older" && event.detail.shouldSwap) {
    olderFromBottom = scroller.scrollHeight - scroller.scrollTop;
  }
});
document.body.addEventListener("htmx:afterSwap", (event) => {
  localTimes(event.target);
  if (olderFromBottom !== null && timeline.contains(event.target)) {
    scroller.scrollTop = scroller.scrollHeight - olderFromBottom;
    olderFromBottom = null; // the whole page is in by the first afterSwap
  }
});
localTimes(document);
if (scroller) {
  scrollToBottom();
  // Stay at the newest message while the pane changes size (the member list arriving below it
  // on a phone, a keyboard opening), unless the reader has scrolled up.
  let atBottom = true;
  scroller.addEventListener("scroll", () => { atBottom = nearBottom(); }, { passive: true });
  new ResizeObserver(() => { if (atBottom) scrollToBottom(); }).observe(scroller);
}
connect();
