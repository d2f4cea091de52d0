// Light or dark: the system's choice unless the reader picked one with the toggle (kept in
// localStorage). A classic script loaded before the stylesheet, so the first paint is right.
(() => {
  const KEY = "parley-theme";
  const root = document.documentElement;
  const system = window.matchMedia("(prefers-color-scheme: dark)");
  let chosen = null;
  try { chosen = localStorage.getItem(KEY); } catch { /* storage may be off */ }

  const current = () => chosen || (system.matches ? "dark" : "light");
  const apply = () => {
    root.dataset.theme = current();
    const toggle = document.getElementById("theme-toggle");
    if (toggle) toggle.setAttribute("aria-pressed", String(current() === "dark"));
  };
  apply();
  system.addEventListener("change", apply);
  document.addEventListener("DOMContentLoaded", () => {
    apply();
    document.getElementById("theme-toggle")?.addEventListener("click", () => {
      chosen = current() === "dark" ? "light" : "dark";
      try { localStorage.setItem(KEY, chosen); } catch { /* this page only, then */ }
      apply();
    });
  });
})();
