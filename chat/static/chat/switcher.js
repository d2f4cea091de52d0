// The quick switcher: Ctrl+K (or ⌘K) lists the sidebar's rooms and conversations, filtered by
// what is typed; Up and Down choose, Enter opens.

export function installSwitcher(sidebar) {
  const dialog = document.getElementById("switcher");
  const input = document.getElementById("switcher-input");
  const results = document.getElementById("switcher-results");
  const opener = document.getElementById("open-switcher");
  if (!dialog || !input || !results) return;
  let chosen = 0;

  const matches = () => {
    const wanted = input.value.trim().toLocaleLowerCase();
    return sidebar.links()
      .map((link) => ({ link, name: link.querySelector(".name")?.textContent ?? "" }))
      .filter(({ name }) => name.toLocaleLowerCase().includes(wanted))
      .slice(0, 20);
  };

  const show = () => {
    const found = matches();
    chosen = Math.min(chosen, Math.max(found.length - 1, 0));
    results.replaceChildren(...found.map(({ link, name }, index) => {
      const option = document.createElement("li");
      option.id = `switcher-option-${index}`;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", String(index === chosen));
      option.dataset.href = link.getAttribute("href");
      const label = document.createElement("bdi");
      label.textContent = `${link.dataset.kind === "direct" ? "@" : "#"} ${name}`;
      option.append(label);
      option.addEventListener("click", () => location.assign(option.dataset.href));
      return option;
    }));
    if (!found.length) {
      const none = document.createElement("li");
      none.className = "muted";
      none.textContent = "No room or conversation matches.";
      results.append(none);
    }
    input.setAttribute("aria-activedescendant", found.length ? `switcher-option-${chosen}` : "");
  };

  const open = () => {
    input.value = "";
    chosen = 0;
    show();
    dialog.showModal();
    input.focus();
  };

  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k" && !dialog.open) {
      event.preventDefault();
      open();
    }
  });
  opener?.addEventListener("click", open);
  input.addEventListener("input", () => { chosen = 0; show(); });
  input.addEventListener("keydown", (event) => {
    const count = results.querySelectorAll("[role=option]").length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (count) chosen = (chosen + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
      show();
    } else if (event.key === "Escape") {
      event.preventDefault(); // a search field's own Escape only clears what is typed
      dialog.close();
    } else if (event.key === "Enter") {
      event.preventDefault();
      const option = results.querySelector(`#switcher-option-${chosen}`);
      if (option) location.assign(option.dataset.href);
    }
  });
  dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
}
