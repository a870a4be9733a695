/* Keyboard shortcuts and dialogs of the steward UI (no framework).
 *
 * [data-row]          rows of a list: j / k move the selection, Enter opens
 *                     the row's data-href
 * [data-key="m"]      pressing m clicks the element (links, buttons)
 * [data-open="id"]    clicking opens <dialog id="id">
 * [data-close]        clicking closes the enclosing dialog
 * ?                   opens the shortcut help, / focuses the search box
 * Ctrl+Enter          confirms the open dialog
 */
(function () {
  "use strict";

  // Radio buttons and checkboxes take no letters: shortcuts still work there.
  function isTyping(target) {
    if (!target.closest) return false;
    if (target.closest("textarea, select, [contenteditable]")) return true;
    var input = target.closest("input");
    return Boolean(input) && !/^(radio|checkbox|button|submit|reset)$/.test(input.type);
  }

  function openDialog(dialog) {
    if (!dialog || dialog.open) return;
    dialog.showModal();
    var first = dialog.querySelector("textarea, input:not([type=hidden]), button.primary, button");
    if (first) first.focus();
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-row]"));
  }

  function moveSelection(step) {
    var all = rows();
    if (!all.length) return false;
    var current = all.findIndex(function (row) { return row.classList.contains("selected"); });
    var next = current < 0 ? 0 : Math.min(all.length - 1, Math.max(0, current + step));
    if (current >= 0) all[current].classList.remove("selected");
    all[next].classList.add("selected");
    all[next].scrollIntoView({ block: "nearest" });
    return true;
  }

  // A refused htmx request (409: someone was faster) says why in plain text.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if ((xhr.getResponseHeader("Content-Type") || "").indexOf("text/plain") === 0) {
      window.alert(xhr.responseText);
    }
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open]");
    if (opener) {
      event.preventDefault();
      openDialog(document.getElementById(opener.getAttribute("data-open")));
      return;
    }
    var closer = event.target.closest("[data-close]");
    if (closer && closer.closest("dialog")) closer.closest("dialog").close();
  });

  document.addEventListener("keydown", function (event) {
    // Ctrl+Enter (⌘+Enter) confirms the open dialog, even from its text box.
    var dialog = document.querySelector("dialog[open]");
    if (dialog && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var confirm = dialog.querySelector("button[type=submit]");
      if (confirm) {
        event.preventDefault();
        confirm.click();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (isTyping(event.target) || document.querySelector("dialog[open]")) return;
    var key = event.key;
    if (key === "?") {
      event.preventDefault();
      openDialog(document.getElementById("key-help"));
      return;
    }
    if (key === "/") {
      var search = document.querySelector(".search-form input, .quick-search input");
      if (search) {
        event.preventDefault();
        search.focus();
      }
      return;
    }
    if (rows().length && (key === "j" || key === "k")) {
      event.preventDefault();
      moveSelection(key === "j" ? 1 : -1);
      return;
    }
    if (key === "Enter") {
      var selected = document.querySelector("[data-row].selected");
      if (selected && selected.getAttribute("data-href")) {
        event.preventDefault();
        window.location.href = selected.getAttribute("data-href");
      }
      return;
    }
    var target = document.querySelector('[data-key="' + CSS.escape(key) + '"]');
    if (target) {
      event.preventDefault();
      target.click();
    }
  });
})();
