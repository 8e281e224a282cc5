/* socmon dashboard: small enhancements only; every page works without this script.
   Loaded from /static (the Content-Security-Policy allows no inline script). */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // The list: a checkbox in the header selects every row that can be selected.
  for (const all of document.querySelectorAll("input.select-all")) {
    const form = all.closest("form");
    if (!form) continue;
    const rows = () => Array.from(form.querySelectorAll('input[type="checkbox"][name="key"]'));
    if (rows().length === 0) continue;
    all.hidden = false;
    all.addEventListener("change", () => {
      for (const box of rows()) box.checked = all.checked;
    });
    form.addEventListener("change", (event) => {
      if (event.target === all) return;
      const boxes = rows();
      const checked = boxes.filter((box) => box.checked).length;
      all.checked = checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    });
  }
});
