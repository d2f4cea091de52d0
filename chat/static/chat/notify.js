// Browser notifications for mentions of the reader and direct messages that arrive while the
// tab is hidden. The browser is asked for permission only when the reader presses "Enable
// notifications" (never on load); each room can be muted, remembered in localStorage.

const MUTED_KEY = "parley.mutedRooms";
const BODY_LENGTH = 140;

export class Notifier {
  constructor({ openRoom, enableButton, muteButton }) {
    this.openRoom = openRoom;
    this.supported = "Notification" in window;
    this.enableButton = enableButton;
    this.muteButton = muteButton;
    if (this.supported && enableButton) {
      enableButton.hidden = Notification.permission !== "default";
      enableButton.addEventListener("click", () => this.askPermission());
    }
    if (muteButton && openRoom) {
      muteButton.hidden = false;
      this.showMuted();
      muteButton.addEventListener("click", () => {
        this.setMuted(openRoom, !this.muted().has(openRoom));
        this.showMuted();
      });
    }
  }

  async askPermission() {
    const answer = await Notification.requestPermission();
    if (this.enableButton) this.enableButton.hidden = answer !== "default";
  }

  muted() {
    try {
      const rooms = JSON.parse(localStorage.getItem(MUTED_KEY) ?? "[]");
      return new Set(Array.isArray(rooms) ? rooms : []);
    } catch {
      return new Set(); // unreadable or storage refused: nothing is muted
    }
  }

  setMuted(roomId, muted) {
    const rooms = this.muted();
    if (muted) rooms.add(roomId);
    else rooms.delete(roomId);
    try {
      localStorage.setItem(MUTED_KEY, JSON.stringify([...rooms]));
    } catch {
      // storage full or refused: the toggle lasts for this page only
    }
  }

  showMuted() {
    const muted = this.muted().has(this.openRoom);
    this.muteButton.setAttribute("aria-pressed", String(muted));
    // "Mute" alone on a phone; its name stays "Mute notifications" (the rest is visually hidden).
    this.muteButton.querySelector(".mute-verb").textContent = muted ? "Unmute" : "Mute";
  }

  // A new message (the wire's object) in `roomId`, named `roomName` in the sidebar; `direct`:
  // the room is a direct conversation. Shown only while the tab is hidden.
  message(roomId, roomName, message, { forMe, direct }) {
    if (!this.supported || Notification.permission !== "granted") return;
    if (document.visibilityState !== "hidden" || !(forMe || direct)) return;
    if (this.muted().has(roomId)) return;
    const author = message.author?.display_name ?? "Someone";
    const title = direct ? author : `${author} mentioned you in ${roomName}`;
    const body = (message.body || "sent files").slice(0, BODY_LENGTH);
    const notification = new Notification(title, { body, tag: `${roomId}:${message.seq}` });
    notification.addEventListener("click", () => {
      window.focus();
      location.assign(`/rooms/${encodeURIComponent(roomId)}/?at=${message.seq}`);
    });
  }
}
