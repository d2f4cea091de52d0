// Files for the next message: chosen with the button, dropped on the conversation or pasted.
// Each uploads at once (POST /api/v1/rooms/<room>/uploads, the session's cookie and CSRF token)
// and shows as a chip with its progress; the message then names the uploaded ids.

export class Uploads {
  constructor({ room, tray, input, dropZone, csrfToken, onError }) {
    Object.assign(this, { room, tray, input, dropZone, csrfToken, onError });
    this.items = new Map(); // a local key -> {chip, id (once uploaded), request}
    this.nextKey = 1;
    input.addEventListener("change", () => {
      this.add(input.files);
      input.value = "";
    });
    dropZone.addEventListener("dragover", (event) => {
      if ([...event.dataTransfer.types].includes("Files")) {
        event.preventDefault();
        dropZone.classList.add("dropping");
      }
    });
    dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dropping"));
    dropZone.addEventListener("drop", (event) => {
      dropZone.classList.remove("dropping");
      if (!event.dataTransfer.files.length) return;
      event.preventDefault();
      this.add(event.dataTransfer.files);
    });
  }

  // Pasted images (a screenshot) become uploads; pasted text stays text.
  paste(event) {
    const files = [...event.clipboardData.items]
      .filter((item) => item.kind === "file")
      .map((item) => item.getAsFile())
      .filter(Boolean);
    if (files.length) {
      event.preventDefault();
      this.add(files);
    }
  }

  add(files) {
    for (const file of files) this.upload(file);
  }

  upload(file) {
    const key = this.nextKey++;
    const chip = this.chip(file.name, () => this.remove(key));
    const request = new XMLHttpRequest();
    const item = { chip, id: null, request };
    this.items.set(key, item);
    request.open("POST", `/api/v1/rooms/${encodeURIComponent(this.room)}/uploads`);
    request.setRequestHeader("X-CSRFToken", this.csrfToken);
    request.responseType = "json";
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) chip.querySelector("progress").value = event.loaded / event.total;
    });
    request.addEventListener("load", () => {
      if (request.status === 201 && request.response?.id) {
        item.id = request.response.id;
        chip.classList.add("ready");
        chip.querySelector("progress").remove();
      } else {
        this.remove(key);
        const reason = request.response?.message ?? `the server answered ${request.status}`;
        this.onError(`“${file.name}” was not uploaded: ${reason}`);
      }
    });
    request.addEventListener("error", () => {
      this.remove(key);
      this.onError(`“${file.name}” was not uploaded: the connection failed.`);
    });
    const form = new FormData();
    form.append("file", file);
    request.send(form);
  }

  chip(name, onRemove) {
    const chip = document.createElement("li");
    chip.className = "upload";
    const label = document.createElement("bdi");
    label.textContent = name;
    const progress = document.createElement("progress");
    progress.max = 1;
    progress.value = 0;
    progress.setAttribute("aria-label", `Uploading ${name}`);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "secondary";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `Remove ${name}`);
    remove.addEventListener("click", onRemove);
    chip.append(label, progress, remove);
    this.tray.append(chip);
    this.tray.hidden = false;
    return chip;
  }

  remove(key) {
    const item = this.items.get(key);
    if (!item) return;
    if (!item.id) item.request.abort();
    item.chip.remove();
    this.items.delete(key);
    this.tray.hidden = this.items.size === 0;
  }

  busy() {
    return [...this.items.values()].some((item) => !item.id);
  }

  // The uploaded ids for the message being sent; the tray empties.
  take() {
    const ids = [...this.items.values()].map((item) => item.id).filter(Boolean);
    for (const key of [...this.items.keys()]) {
      this.items.get(key).chip.remove();
      this.items.delete(key);
    }
    this.tray.hidden = true;
    return ids;
  }
}
