// The few things Blazor cannot do from the server: the clipboard and scrolling. Served by Sovereign itself.
window.sovereign = {
  copy: async function (text) {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard API refused (no permission, or not a secure context): the old way.
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      document.body.removeChild(area);
    }
  },
  scrollToEnd: function (element) {
    element?.lastElementChild?.scrollIntoView({ block: "end" });
  }
};

// The skip link moves focus to the content. Blazor's router takes over in-page links, so it is done here, before it.
document.addEventListener("click", function (e) {
  const link = e.target.closest && e.target.closest("a.skip-link");
  if (!link) return;
  e.preventDefault();
  e.stopPropagation();
  document.getElementById("main")?.focus();
}, true);
