// The sidebar: the user's rooms and conversations with unread badges, previews, presence, and
// the unread total in the tab's title. A room joined live is cloned from the server's own
// partial (templates/chat/_sidebar_item.html), like the entries it renders.

import { decorateAvatars, fillAvatar, localTimes } from "./text.js";

const PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000";

export class Sidebar {
  constructor({ openRoom, me }) {
    this.openRoom = openRoom;
    this.me = me;
    this.list = document.getElementById("room-list");
    this.templates = document.getElementById("sidebar-item-templates")?.content;
    this.baseTitle = document.title;
    this.unseenHere = 0; // messages that arrived in the open room while the tab was hidden
    this.unseenForMe = 0; // of those, the ones that mention the reader or are direct messages
    decorateAvatars(document);
    localTimes(document);
  }

  link(roomId) {
    return this.list?.querySelector(`a.room-link[data-room-id="${CSS.escape(roomId)}"]`) ?? null;
  }

  links() {
    return this.list ? [...this.list.querySelectorAll("a.room-link")] : [];
  }

  setUnread(roomId, count) {
    const badge = this.link(roomId)?.querySelector(".badge.unread");
    if (badge) {
      badge.textContent = String(count);
      badge.hidden = count <= 0 || roomId === this.openRoom;
    }
    this.showTotal();
  }

  setMentions(roomId, count) {
    const badge = this.link(roomId)?.querySelector(".badge.mention");
    if (badge) {
      badge.textContent = String(count);
      badge.hidden = count <= 0 || roomId === this.openRoom;
    }
    this.showTotal();
  }

  // The title counts unread messages elsewhere, plus those that arrived here while away; and,
  // after "@", those for the reader: mentions of them and direct messages ("(5 · @2) ...").
  showTotal() {
    const sum = (selector) => [...(this.list?.querySelectorAll(selector) ?? [])]
      .reduce((total, badge) => total + (Number(badge.textContent) || 0), 0);
    const total = this.unseenHere + sum(".badge.unread:not([hidden])");
    const forMe = this.unseenForMe + sum(".badge.mention:not([hidden])")
      + sum("a.room-link[data-kind='direct'] .badge.unread:not([hidden])");
    const counts = forMe > 0 ? `${total} · @${forMe}` : String(total);
    document.title = total > 0 || forMe > 0 ? `(${counts}) ${this.baseTitle}` : this.baseTitle;
  }

  // A new entry in a room: it moves to the top with the message as its preview; `forMe`: it
  // mentions the reader.
  bump(roomId, message, forMe = false) {
    const link = this.link(roomId);
    if (!link) return;
    link.closest("li").parentElement.prepend(link.closest("li"));
    const activity = link.querySelector("time.activity");
    if (activity && message.created_at) {
      activity.setAttribute("datetime", message.created_at);
      delete activity.dataset.local;
      localTimes(link);
    }
    if (message.kind !== "text") return;
    this.preview(link, message.author?.display_name, message.deleted ? null : message.body);
    if (message.author?.username !== this.me && roomId !== this.openRoom) {
      const badge = link.querySelector(".badge.unread");
      this.setUnread(roomId, (Number(badge?.textContent) || 0) + 1);
      if (forMe) {
        this.setMentions(roomId, (Number(link.querySelector(".badge.mention")?.textContent) || 0) + 1);
      }
    }
  }

  preview(link, author, text) {
    const preview = link.querySelector(".preview");
    preview.hidden = false;
    preview.querySelector(".preview-author").textContent = author ?? "someone";
    // A text message is never empty unless it carries only files.
    const shown = text === null ? "message deleted" : text.slice(0, 80) || "sent files";
    preview.querySelector(".preview-text").textContent = shown;
  }

  // A room from `room.joined` (the wire's room object), at the top of the list.
  add(room) {
    if (!this.list || !this.templates || this.link(room.id)) return;
    const kind = room.kind === "direct" ? "direct" : "group";
    const item = this.templates.querySelector(`a.room-link[data-kind="${kind}"]`).closest("li").cloneNode(true);
    const link = item.querySelector("a.room-link");
    link.dataset.roomId = room.id;
    link.href = link.getAttribute("href").replace(PLACEHOLDER_ID, encodeURIComponent(room.id));
    link.querySelector(".name").textContent = room.name;
    if (kind === "direct" && room.peer) {
      fillAvatar(link.querySelector(".avatar"), room.peer);
      link.querySelector(".dot").dataset.peer = room.peer.username;
    }
    this.list.querySelector(".empty")?.remove();
    this.list.prepend(item);
    decorateAvatars(item);
  }

  remove(roomId) {
    this.link(roomId)?.closest("li").remove();
    this.showTotal();
  }

  presence(changes) {
    for (const change of changes) {
      const selector = `.dot[data-peer="${CSS.escape(change.user.username)}"]`;
      for (const dot of document.querySelectorAll(selector)) {
        dot.classList.toggle("online", change.online);
        dot.setAttribute("aria-label", change.online ? "online" : "offline");
      }
    }
  }
}
